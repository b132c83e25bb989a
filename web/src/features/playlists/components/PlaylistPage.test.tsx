import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";

import { renderPage } from "@/test/render";
import { http, HttpResponse, problem, server } from "@/test/server";

import { PlaylistPage } from "./pages";

const item = (n: number) => ({
  id: `i${n}`,
  position: n - 1,
  added_at: "2026-12-01T00:00:00Z",
  track: { id: `t${n}`, title: `Song ${n}`, artist: null, owner_handle: "ana", duration_s: 60 * n, status: "ready" },
});

const playlist = (items: ReturnType<typeof item>[], editable = true) => ({
  id: "p1",
  title: "Morning",
  description: null,
  visibility: "private",
  item_count: items.length,
  like_count: 0,
  liked_by_me: false,
  editable,
  owner: { id: "u1", handle: "ana", display_name: "Ana" },
  created_at: "2026-12-01T00:00:00Z",
  updated_at: "2026-12-01T00:00:00Z",
  items,
});

let orders: string[][] = [];

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  orders = [];
});
afterAll(() => server.close());

function api(editable = true, refuse = false) {
  let items = [item(1), item(2), item(3)];
  server.use(
    http.get("/api/v1/playlists/p1", () => HttpResponse.json(playlist(items, editable))),
    http.put("/api/v1/playlists/p1/order", async ({ request }) => {
      const { item_ids } = (await request.json()) as { item_ids: string[] };
      orders.push(item_ids);
      if (refuse) return problem(409, "conflict", "the playlist changed meanwhile");
      items = item_ids.map((id, position) => ({ ...items.find((i) => i.id === id)!, position }));
      return HttpResponse.json(playlist(items, editable));
    }),
  );
}

const titles = () => within(screen.getByRole("list", { name: "Tracks" })).getAllByRole("link", { name: /^Song/ }).map((a) => a.textContent);

test("arrow keys on a focused handle move the track and keep the focus on it", async () => {
  const user = userEvent.setup();
  api();
  renderPage({ "/playlists/:id": <PlaylistPage /> }, "/playlists/p1");

  const handle = await screen.findByRole("button", { name: "Reorder Song 1, position 1 of 3" });
  handle.focus();
  await user.keyboard("{ArrowDown}");

  expect(titles()).toEqual(["Song 2", "Song 1", "Song 3"]);
  await waitFor(() => expect(orders).toEqual([["i2", "i1", "i3"]]));
  expect(screen.getByRole("button", { name: "Reorder Song 1, position 2 of 3" })).toHaveFocus();
  expect(screen.getByRole("status")).toHaveTextContent("Song 1 moved to position 2 of 3");

  await user.keyboard("{ArrowDown}");
  await waitFor(() => expect(orders.at(-1)).toEqual(["i2", "i3", "i1"]));
  await user.keyboard("{Home}");
  await waitFor(() => expect(orders.at(-1)).toEqual(["i1", "i2", "i3"]));
  expect(titles()).toEqual(["Song 1", "Song 2", "Song 3"]);
});

test("Move up and Move down buttons reorder too; the first cannot go up", async () => {
  const user = userEvent.setup();
  api();
  renderPage({ "/playlists/:id": <PlaylistPage /> }, "/playlists/p1");
  await screen.findByText("Song 3");

  const rows = within(screen.getByRole("list", { name: "Tracks" })).getAllByRole("listitem");
  expect(within(rows[0]!).getByRole("button", { name: "Move up" })).toBeDisabled();
  expect(within(rows[2]!).getByRole("button", { name: "Move down" })).toBeDisabled();
  await user.click(within(rows[2]!).getByRole("button", { name: "Move up" }));

  expect(titles()).toEqual(["Song 1", "Song 3", "Song 2"]);
  await waitFor(() => expect(orders).toEqual([["i1", "i3", "i2"]]));
});

test("a move the API refuses goes back and says why", async () => {
  const user = userEvent.setup();
  api(true, true);
  renderPage({ "/playlists/:id": <PlaylistPage /> }, "/playlists/p1");

  const handle = await screen.findByRole("button", { name: "Reorder Song 3, position 3 of 3" });
  handle.focus();
  await user.keyboard("{ArrowUp}");

  expect(await screen.findByText("the playlist changed meanwhile")).toBeInTheDocument();
  await waitFor(() => expect(titles()).toEqual(["Song 1", "Song 2", "Song 3"]));
});

test("someone else's playlist has no reorder controls", async () => {
  api(false);
  renderPage({ "/playlists/:id": <PlaylistPage /> }, "/playlists/p1");
  await screen.findByText("Song 1");
  expect(screen.queryByRole("button", { name: /^Reorder/ })).toBeNull();
  expect(screen.queryByRole("button", { name: "Move up" })).toBeNull();
});
