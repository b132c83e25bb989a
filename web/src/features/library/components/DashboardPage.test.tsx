import { act, screen, waitFor, within } from "@testing-library/react";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";

import { useSession, type Me } from "@/features/auth";
import { receiveTrackEvent } from "@/features/socket";
import { renderPage } from "@/test/render";
import { http, HttpResponse, server } from "@/test/server";

import { DashboardPage } from "./pages";

const owner: Me = { id: "u1", handle: "ana", email: "ana@example.org", display_name: "Ana", role: "artist" };

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  useSession.setState({ status: "signedOut", user: null });
});
afterAll(() => server.close());

const row = (id: string, title: string, plays: number, likes: number) => ({
  id,
  title,
  artist: null,
  owner_id: "u1",
  owner_handle: "ana",
  duration_s: 200,
  status: "ready",
  visibility: "public",
  likes,
  liked_by_me: false,
  plays,
});

test("the dashboard shows each track's plays and likes from the owner's list, and their total", async () => {
  server.use(
    http.get("/api/v1/tracks", ({ request }) => {
      expect(new URL(request.url).searchParams.get("owner")).toBe("ana");
      return HttpResponse.json({ items: [row("t1", "First Light", 1234, 7), row("t2", "Second Wind", 0, 0)], next: null });
    }),
    http.get("/api/v1/tracks/:id/stats", ({ params }) =>
      HttpResponse.json({ track_id: params.id, total_plays: 1, unique_listeners: params.id === "t1" ? 56 : 0, days: [] }),
    ),
  );
  useSession.setState({ status: "signedIn", user: owner });
  renderPage({ "/dashboard": <DashboardPage /> }, "/dashboard");

  const table = await screen.findByRole("table", { name: "Your tracks with their status, plays and likes" });
  const cells = (title: string) =>
    within(within(table).getByRole("rowheader", { name: title }).closest("tr")!)
      .getAllByRole("cell")
      .map((cell) => cell.textContent);
  expect(cells("First Light")).toEqual(["Ready", "1,234", expect.any(String), "7"]);
  expect(cells("Second Wind")).toEqual(["Ready", "0", expect.any(String), "0"]);
  expect(screen.getByText("2 tracks · plays: 1,234")).toBeInTheDocument();
});

test("a track's status follows the pipeline's live events, and the list is fetched again once it is ready", async () => {
  let ready = false;
  let fetched = 0;
  server.use(
    http.get("/api/v1/tracks", () => {
      fetched++;
      return HttpResponse.json({ items: [{ ...row("t1", "First Light", 0, 0), status: ready ? "ready" : "processing" }], next: null });
    }),
    http.get("/api/v1/tracks/:id/stats", ({ params }) => HttpResponse.json({ track_id: params.id, total_plays: 0, unique_listeners: 0, days: [] })),
  );
  useSession.setState({ status: "signedIn", user: owner });
  renderPage({ "/dashboard": <DashboardPage /> }, "/dashboard");
  const table = await screen.findByRole("table", { name: "Your tracks with their status, plays and likes" });
  const status = () => within(within(table).getByRole("rowheader", { name: "First Light" }).closest("tr")!).getAllByRole("cell")[0]!;
  expect(status()).toHaveTextContent("Processing");
  const base = { schema: 1, at: "2026-12-04T00:00:00Z", track_id: "t1", job_id: "j1" };
  act(() => receiveTrackEvent({ ...base, type: "track.progress", progress: 42 }));
  expect(status()).toHaveTextContent("Processing · 42%");
  const before = fetched;
  ready = true;
  act(() => receiveTrackEvent({ ...base, type: "track.ready", duration_s: 200, renditions: ["aac_128k"] }));
  expect(status()).toHaveTextContent("Ready");
  await waitFor(() => expect(fetched).toBeGreaterThan(before));
});
