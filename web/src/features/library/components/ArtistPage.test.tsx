import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";

import { useSession } from "@/features/auth";
import { renderPage } from "@/test/render";
import { http, HttpResponse, server } from "@/test/server";

import { ArtistPage } from "./pages";

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  useSession.setState({ status: "signedOut", user: null });
});
afterAll(() => server.close());

test("an artist's page shows the profile, tracks and followers; Follow counts me in", async () => {
  const user = userEvent.setup();
  const follows: string[] = [];
  server.use(
    http.get("/api/v1/users/ana", () =>
      HttpResponse.json({ id: "u1", handle: "ana", display_name: "Ana", bio: "Ambient from Lyon", role: "artist", followers: 1, following: 0, followed_by_me: false, public_tracks: 1, created_at: "2026-01-01T00:00:00Z" }),
    ),
    http.get("/api/v1/tracks", ({ request }) => {
      expect(new URL(request.url).searchParams.get("owner")).toBe("ana");
      return HttpResponse.json({ items: [{ id: "t1", title: "First Light", artist: null, owner_handle: "ana", duration_s: 20, status: "ready" }], next: null });
    }),
    http.get("/api/v1/me/likes", () => HttpResponse.json({ items: [], next_cursor: null })),
    http.get("/api/v1/users/leo/playlists", () => HttpResponse.json({ items: [], next_cursor: null })),
    http.put("/api/v1/users/ana/follow", () => {
      follows.push("PUT");
      return HttpResponse.json({ following: true, followers: 2 });
    }),
  );
  useSession.setState({ status: "signedIn", user: { id: "u2", handle: "leo", email: null, display_name: null, role: "listener" } });
  renderPage({ "/u/:handle": <ArtistPage /> }, "/u/ana");

  expect(await screen.findByRole("heading", { level: 1, name: "Ana" })).toBeInTheDocument();
  expect(screen.getByText("Ambient from Lyon")).toBeInTheDocument();
  expect(screen.getByText(/1 follower ·/)).toBeInTheDocument();
  expect(await screen.findByRole("link", { name: "First Light" })).toHaveAttribute("href", "/tracks/t1");

  await user.click(screen.getByRole("button", { name: "Follow" }));

  await waitFor(() => expect(screen.getByRole("button", { name: "Following" })).toHaveAttribute("aria-pressed", "true"));
  expect(screen.getByText(/2 followers ·/)).toBeInTheDocument();
  expect(follows).toEqual(["PUT"]);
});
