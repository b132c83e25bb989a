import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";

import { useSession, type Me } from "@/features/auth";
import { renderPage } from "@/test/render";
import { http, HttpResponse, problem, server } from "@/test/server";

import { TrackPage } from "./TrackPage";

const owner: Me = { id: "u1", handle: "ana", email: "ana@example.org", display_name: "Ana", role: "artist" };
const listener: Me = { id: "u2", handle: "leo", email: "leo@example.org", display_name: null, role: "listener" };

const track = {
  id: "t1",
  title: "First Light",
  artist: "Ana",
  album: "Dawn",
  description: null,
  genre: "ambient",
  tags: ["calm"],
  owner_id: "u1",
  owner_handle: "ana",
  status: "ready",
  visibility: "public",
  duration_s: 200,
  created_at: "2026-12-04T03:15:42Z",
  updated_at: "2026-12-04T03:15:43Z",
  error: null,
  job: null,
  stream: { master_url: "/api/v1/tracks/t1/master.m3u8", player_url: "/play/t1", complete: true, renditions: [] },
  analysis: { tempo_bpm: 140.22, key: "A major", key_confidence: 0.186, gain_db: 10.69, loudness: { integrated_lufs: -24.69, range_lu: 3.2, true_peak_dbtp: -1.48 } },
  // The owner's view: plays shown to them only.
  likes: 7,
  liked_by_me: false,
  plays: 1234,
};

const analysis = {
  track_id: "t1",
  duration_s: 200,
  sample_rate: 44100,
  channels: 2,
  cues: { cue_in_s: 0.5, cue_out_s: 198, audible_s: 197.5, duration_s: 200 },
  gain: { gain_db: 10.69, integrated_lufs: -24.69, target_lufs: -14 },
  key: { camelot: "11B", confidence: 0.186, mode: "major", name: "A major", tonic: "A" },
  loudness: { integrated_lufs: -24.69, range_lu: 3.2, true_peak_dbtp: -1.48, sample_peak_dbfs: -1.5, momentary_max_lufs: -20, short_term_max_lufs: -21 },
  tempo: { bpm: 140.22, beats_s: [0.1, 0.53] },
  waveform: { url: "/api/v1/tracks/t1/analysis/waveform", zoom_levels: [] },
};

let requests: { method: string; path: string; body: unknown }[] = [];

beforeAll(async () => {
  // The owner's controls load lazily in the app; here ahead, so that a slow machine's first
  // import of them does not count against a query's wait.
  await import("./OwnerControls");
  server.listen({ onUnhandledRequest: "error" });
});
afterEach(() => {
  server.resetHandlers();
  requests = [];
  useSession.setState({ status: "signedOut", user: null });
});
afterAll(() => server.close());

function api(answerTrack: object = track) {
  server.use(
    http.get("/api/v1/tracks/t1", () => HttpResponse.json(answerTrack)),
    http.get("/api/v1/tracks/t1/analysis", () => HttpResponse.json(analysis)),
    http.get("/api/v1/tracks/t1/analysis/waveform", () =>
      HttpResponse.json({ version: 2, channels: 1, sample_rate: 44100, samples_per_pixel: 44100, bits: 8, length: 2, data: [0, 1, -1, 2] }),
    ),
    http.get("/api/v1/me/likes", () => HttpResponse.json({ items: [], next_cursor: null })),
    http.get("/api/v1/users/:handle/playlists", () => HttpResponse.json({ items: [], next_cursor: null })),
    http.patch("/api/v1/tracks/t1", async ({ request }) => {
      const body = await request.json();
      requests.push({ method: "PATCH", path: "/api/v1/tracks/t1", body });
      return HttpResponse.json({ ...track, ...(body as object) });
    }),
    http.delete("/api/v1/tracks/t1", () => {
      requests.push({ method: "DELETE", path: "/api/v1/tracks/t1", body: null });
      return new HttpResponse(null, { status: 204 });
    }),
  );
}

const pages = { "/tracks/:id": <TrackPage />, "/play/:id": <TrackPage />, "/dashboard": <p>dashboard</p> };

test("the track page shows the analysis: tempo, key with Camelot and confidence, loudness, gain, cues", async () => {
  api();
  useSession.setState({ status: "signedIn", user: owner });
  renderPage(pages, "/tracks/t1");

  expect(await screen.findByRole("heading", { level: 1, name: "First Light" })).toBeInTheDocument();
  const figures = within(screen.getByRole("region", { name: "Analysis" }));
  const value = (label: string) => figures.getByText(label).nextElementSibling;
  await waitFor(() => expect(value("Key")).toHaveTextContent("A major(11B)confidence 19%"));
  expect(value("Tempo")).toHaveTextContent("140.2 BPM");
  expect(value("Integrated loudness")).toHaveTextContent("-24.7 LUFS");
  expect(value("Loudness range")).toHaveTextContent("3.2 LU");
  expect(value("True peak")).toHaveTextContent("-1.5 dBTP");
  expect(value("Gain to target")).toHaveTextContent("+10.7 dB");
  expect(value("Cue in – cue out")).toHaveTextContent("0:01 – 3:18");
  expect(value("Duration")).toHaveTextContent("3:20");
  expect(value("Plays")).toHaveTextContent("1,234");
  expect(value("Likes")).toHaveTextContent("7");
  for (const name of ["Play First Light", "Share", "Add to playlist"]) {
    expect(screen.getByRole("button", { name })).toBeInTheDocument();
  }
  // The count is part of the button's name: "Like, 7" (jsdom drops the space).
  expect(screen.getByRole("button", { name: /^Like, ?7$/ })).toHaveAttribute("aria-pressed", "false");
});

test("the owner sees Edit metadata, Reprocess and Delete; a listener and a visitor do not", async () => {
  api();
  useSession.setState({ status: "signedIn", user: owner });
  const first = renderPage(pages, "/tracks/t1");
  for (const name of ["Edit metadata", "Reprocess", "Delete"]) {
    expect(await screen.findByRole("button", { name })).toBeInTheDocument();
  }
  first.unmount();

  for (const who of [listener, null]) {
    useSession.setState({ status: who ? "signedIn" : "signedOut", user: who });
    const view = renderPage(pages, "/tracks/t1");
    await screen.findByRole("heading", { level: 1, name: "First Light" });
    expect(screen.getByRole("button", { name: /^Like/ })).toBeInTheDocument();
    for (const name of ["Edit metadata", "Reprocess", "Delete"]) {
      expect(screen.queryByRole("button", { name })).toBeNull();
    }
    expect(screen.queryByRole("region", { name: "Manage" })).toBeNull();
    view.unmount();
  }
});

test("editing sends only the changed fields; deleting asks first", async () => {
  const user = userEvent.setup();
  api();
  useSession.setState({ status: "signedIn", user: owner });
  renderPage(pages, "/tracks/t1");

  await user.click(await screen.findByRole("button", { name: "Edit metadata" }));
  const dialog = await screen.findByRole("dialog", { name: "Edit metadata" });
  await user.clear(within(dialog).getByLabelText("Title"));
  await user.type(within(dialog).getByLabelText("Title"), "First Light (edit)");
  await user.clear(within(dialog).getByLabelText("Tags"));
  await user.type(within(dialog).getByLabelText("Tags"), "calm, dawn");
  await user.selectOptions(within(dialog).getByLabelText("Visibility"), "unlisted");
  await user.click(within(dialog).getByRole("button", { name: "Save" }));

  await waitFor(() => expect(requests).toHaveLength(1));
  expect(requests[0]!.body).toEqual({ title: "First Light (edit)", tags: ["calm", "dawn"], visibility: "unlisted" });

  await user.click(screen.getByRole("button", { name: "Delete" }));
  const confirm = screen.getByRole("alertdialog", { name: "Delete this track?" });
  expect(requests).toHaveLength(1);
  await user.click(within(confirm).getByRole("button", { name: "Delete track" }));
  await screen.findByText("dashboard");
  expect(requests.map((r) => r.method)).toEqual(["PATCH", "DELETE"]);
});

test("a track in the pipeline shows its progress; a failed one shows why", async () => {
  api({ ...track, status: "processing", stream: null, analysis: null, job: { state: "running", progress: 40, attempts: 1, error: null } });
  useSession.setState({ status: "signedIn", user: owner });
  const view = renderPage(pages, "/tracks/t1");
  expect(await screen.findByRole("progressbar", { name: "Processing progress" })).toHaveAttribute("aria-valuenow", "40");
  view.unmount();

  server.resetHandlers();
  api({ ...track, status: "failed", stream: null, analysis: null, error: { code: "decode_failed", message: "the file is not audio we can decode" } });
  renderPage(pages, "/tracks/t1");
  expect(await screen.findByRole("alert")).toHaveTextContent("the file is not audio we can decode");
});

test("a track the visitor may not see says so", async () => {
  server.use(http.get("/api/v1/tracks/t1", () => problem(404, "not_found", "no such track")));
  renderPage(pages, "/play/t1?access=grant");
  expect(await screen.findByRole("heading", { name: "This track does not exist or is not yours to see." })).toBeInTheDocument();
});

test("Like is a pressed button that follows the API; Share copies the track's link and says so", async () => {
  const user = userEvent.setup();
  api();
  const likes: string[] = [];
  server.use(
    http.put("/api/v1/tracks/t1/like", () => {
      likes.push("PUT");
      return HttpResponse.json({ liked: true, likes: 8 });
    }),
  );
  useSession.setState({ status: "signedIn", user: listener });
  renderPage(pages, "/tracks/t1");

  const like = await screen.findByRole("button", { name: /^Like, ?7$/ });
  expect(like).toHaveAttribute("aria-pressed", "false");
  await user.click(like);
  await waitFor(() => expect(screen.getByRole("button", { name: /^Like/ })).toHaveAttribute("aria-pressed", "true"));
  expect(likes).toEqual(["PUT"]);
  expect(screen.getByRole("button", { name: /^Like/ })).toHaveTextContent("8");

  await user.click(screen.getByRole("button", { name: "Share" }));
  expect(await screen.findByText("Link copied")).toBeInTheDocument();
  expect(await navigator.clipboard.readText()).toBe(`${window.location.origin}/tracks/t1`);
});

test("a listener's Like shows whether they like the track and its count, from the track itself; no plays", async () => {
  api({ ...track, likes: 1204, liked_by_me: true, plays: null });
  useSession.setState({ status: "signedIn", user: listener });
  renderPage(pages, "/tracks/t1");

  const like = await screen.findByRole("button", { name: /^Like/ });
  expect(like).toHaveAttribute("aria-pressed", "true");
  expect(like).toHaveTextContent("1,204");
  const figures = within(screen.getByRole("region", { name: "Analysis" }));
  expect(figures.getByText("Likes").nextElementSibling).toHaveTextContent("1,204");
  expect(figures.queryByText("Plays")).toBeNull();
});
