import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { MemoryRouter } from "react-router-dom";

import { receiveTrackEvent } from "@/features/socket";
import { setAccessToken } from "@/lib/api";

import { useUploads } from "../store";
import { UploadPage } from "./UploadPage";

/** XMLHttpRequest as the test drives it: progress and answers come when the test says. */
class FakeXHR {
  static sent: FakeXHR[] = [];
  method = "";
  url = "";
  headers: Record<string, string> = {};
  body: unknown = null;
  status = 0;
  statusText = "";
  responseText = "";
  upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  send(body: unknown) {
    this.body = body;
    FakeXHR.sent.push(this);
  }
  abort() {
    this.onabort?.();
  }
  progress(loaded: number, total: number) {
    act(() => this.upload.onprogress?.({ loaded, total, lengthComputable: true }));
  }
  async respond(status: number, body: unknown) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    await act(async () => this.onload?.());
  }
}

const server = setupServer(
  http.get("*/api/v1/tracks/:id", ({ params }) =>
    HttpResponse.json({ id: params.id, title: `Title ${params.id}`, status: "processing", error: null, job: { progress: 5 } }),
  ),
);
beforeAll(() => {
  server.listen({ onUnhandledRequest: "error" });
  vi.stubGlobal("XMLHttpRequest", FakeXHR);
});
afterAll(() => {
  server.close();
  vi.unstubAllGlobals();
});
beforeEach(() => {
  FakeXHR.sent = [];
  useUploads.setState({ rows: [] });
  setAccessToken("artist-token");
});

const file = (name: string, size: number, type = "audio/flac") => new File([new Uint8Array(size)], name, { type });

function renderPage() {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter>
        <UploadPage />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

test("each file has its row: bytes sent, then the pipeline's progress, then a link to the track", async () => {
  const user = userEvent.setup();
  renderPage();
  const region = screen.getByRole("region", { name: "Upload" });
  await user.upload(within(region).getByLabelText("Choose files"), [file("one.flac", 1000), file("two.flac", 2000)]);

  expect(FakeXHR.sent).toHaveLength(2);
  const [first] = FakeXHR.sent;
  expect(first!.method).toBe("POST");
  expect(first!.url).toBe("/api/v1/tracks?filename=one.flac");
  expect(first!.headers.Authorization).toBe("Bearer artist-token");
  expect(first!.headers["Content-Type"]).toBe("audio/flac");

  first!.progress(250, 1000);
  const bar = screen.getByRole("progressbar", { name: "one.flac" });
  expect(bar).toHaveAttribute("aria-valuenow", "25");
  expect(bar).toHaveAttribute("aria-valuetext", expect.stringMatching(/^Uploading: 25 %/));
  expect(screen.getByRole("progressbar", { name: "two.flac" })).toHaveAttribute("aria-valuenow", "0");

  await first!.respond(202, { id: "trk1", status: "queued", status_url: "/api/v1/tracks/trk1" });
  act(() => receiveTrackEvent({ type: "track.progress", schema: 1, at: "", track_id: "trk1", job_id: "j", progress: 60 }));
  expect(bar).toHaveAttribute("aria-valuetext", "Processing: 60 %");
  expect(bar).toHaveAttribute("aria-valuenow", "60");

  act(() => receiveTrackEvent({ type: "track.ready", schema: 1, at: "", track_id: "trk1", job_id: "j", duration_s: 20, renditions: ["aac_128k"] }));
  expect(bar).toHaveAttribute("aria-valuetext", "Ready");
  expect(await screen.findByRole("link", { name: "Open “Title trk1”" })).toHaveAttribute("href", "/tracks/trk1");
});

test("a refused file shows the API's reason and the others go on", async () => {
  // A drop (or "All files" in the picker) gets past the input's accept list: the API decides.
  const user = userEvent.setup({ applyAccept: false });
  renderPage();
  await user.upload(screen.getByLabelText("Choose files"), [file("notes.txt", 10, "text/plain"), file("huge.wav", 50), file("good.flac", 30)]);
  expect(FakeXHR.sent).toHaveLength(2); // two at a time
  await FakeXHR.sent[0]!.respond(415, {
    type: "https://veza.example/problems/unsupported_media", title: "Unsupported Media Type", status: 415,
    detail: "notes.txt is not an audio file (text/plain)", code: "unsupported_media",
  });
  expect(screen.getByText("notes.txt is not an audio file (text/plain)")).toBeInTheDocument();
  // The third file starts as soon as one of the first two is done.
  expect(FakeXHR.sent).toHaveLength(3);
  await FakeXHR.sent[1]!.respond(413, {
    type: "about:blank", title: "Payload Too Large", status: 413, detail: "upload exceeds the limit of 40 bytes", code: "too_large",
  });
  expect(screen.getByText("upload exceeds the limit of 40 bytes")).toBeInTheDocument();
  FakeXHR.sent[2]!.progress(30, 30);
  await FakeXHR.sent[2]!.respond(202, { id: "trk3", status: "queued", status_url: "/api/v1/tracks/trk3" });
  act(() => receiveTrackEvent({ type: "track.ready", schema: 1, at: "", track_id: "trk3", job_id: "j", duration_s: 1, renditions: [] }));
  expect(screen.getByRole("progressbar", { name: "good.flac" })).toHaveAttribute("aria-valuetext", "Ready");
  expect(screen.getByRole("progressbar", { name: "notes.txt" })).toHaveAttribute("aria-valuetext", "Refused");

  await user.click(screen.getByRole("button", { name: "Dismiss notes.txt" }));
  expect(screen.queryByRole("progressbar", { name: "notes.txt" })).not.toBeInTheDocument();
});

test("a track that fails in the pipeline says why", async () => {
  const user = userEvent.setup();
  renderPage();
  await user.upload(screen.getByLabelText("Choose files"), [file("cut.flac", 10)]);
  await FakeXHR.sent[0]!.respond(202, { id: "trk9", status: "queued", status_url: "/api/v1/tracks/trk9" });
  act(() =>
    receiveTrackEvent({ type: "track.failed", schema: 1, at: "", track_id: "trk9", job_id: "j", error: { code: "decode_error", message: "the file ends in the middle of a frame" } }),
  );
  expect(screen.getByText(/the file ends in the middle of a frame/)).toBeInTheDocument();
  expect(screen.getByRole("progressbar", { name: "cut.flac" })).toHaveAttribute("aria-valuetext", "Processing failed");
});

test("a network failure mid-upload is shown on that file", async () => {
  const user = userEvent.setup();
  renderPage();
  await user.upload(screen.getByLabelText("Choose files"), [file("a.flac", 10)]);
  await act(async () => FakeXHR.sent[0]!.onerror?.());
  expect(screen.getByText("the connection was lost")).toBeInTheDocument();
});

test("files dropped on the region are uploaded like chosen ones", async () => {
  renderPage();
  const region = screen.getByRole("region", { name: "Upload" });
  const files = [file("side-a.flac", 5), file("side-b.flac", 5), file("side-c.flac", 5)];
  act(() => {
    fireEvent.dragOver(region, { dataTransfer: { files, dropEffect: "none" } });
    fireEvent.drop(region, { dataTransfer: { files } });
  });
  expect(FakeXHR.sent.map((x) => x.url)).toEqual(["/api/v1/tracks?filename=side-a.flac", "/api/v1/tracks?filename=side-b.flac"]);
  expect(screen.getByRole("progressbar", { name: "side-c.flac" })).toHaveAttribute("aria-valuetext", "Waiting");
});
