import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";

import { currentUrl, renderPage } from "@/test/render";
import { http, HttpResponse, server } from "@/test/server";

import { SearchBox } from "./SearchBox";
import { SearchPage } from "./SearchPage";

const asked: URLSearchParams[] = [];

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  asked.length = 0;
});
afterAll(() => server.close());

const hit = {
  id: "t1",
  title: "Night Drive",
  artist: "Ana",
  album: null,
  owner_handle: "ana",
  owner_id: "u1",
  duration_s: 200,
  tempo_bpm: 124,
  key: "A minor",
  camelot: "8A",
  loudness_lufs: -9.5,
  genre: null,
  tags: [],
  created_at: "2026-12-01T00:00:00Z",
  score: 1,
  url: "/api/v1/tracks/t1",
};

function answer() {
  server.use(
    http.get("/api/v1/search", ({ request }) => {
      asked.push(new URL(request.url).searchParams);
      return HttpResponse.json({ items: [hit], next_cursor: null, mode: "ranked" });
    }),
  );
}

const pages = {
  "/": <SearchBox />,
  "/search": (
    <>
      <SearchBox />
      <SearchPage />
    </>
  ),
};

test("typing searches once the typing pauses, and the URL carries the query", async () => {
  const user = userEvent.setup();
  answer();
  renderPage(pages, "/");

  await user.type(screen.getByRole("searchbox", { name: "Search" }), "night drive");

  expect(await screen.findByRole("link", { name: "Night Drive" })).toBeInTheDocument();
  expect(currentUrl()).toBe("/search?q=night+drive");
  // One request for what was typed, none for each letter on the way.
  expect(asked.map((p) => p.get("q"))).toEqual(["night drive"]);
  expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Search: night drive");
});

test("the filters go into the URL and into the API's query", async () => {
  const user = userEvent.setup();
  answer();
  renderPage(pages, "/search?q=drive");
  await screen.findByRole("link", { name: "Night Drive" });

  await user.type(screen.getByLabelText("Tempo from (BPM)"), "120");
  await user.type(screen.getByLabelText("Tempo to (BPM)"), "130");
  await user.selectOptions(screen.getByLabelText("Key"), "8A");
  await user.click(screen.getByRole("checkbox", { name: "Compatible keys (Camelot)" }));
  await user.type(screen.getByLabelText("Duration to (min)"), "4");

  await waitFor(() =>
    expect(currentUrl()).toBe("/search?q=drive&tempo_min=120&tempo_max=130&key=8A&compatible=true&duration_max=240"),
  );
  await waitFor(() => expect(asked.at(-1)?.toString()).toBe("q=drive&tempo_min=120&tempo_max=130&key=8A&compatible=true&duration_max=240&limit=20"));
  // Settled values only: no request for a tempo of 1 or 12 on the way to 120.
  expect(asked.some((p) => p.get("tempo_min") === "1" || p.get("tempo_min") === "12")).toBe(false);
});

test("a shared link opens with its query and filters in the controls", async () => {
  answer();
  renderPage(pages, "/search?q=drive&tempo_min=100&key=8A&compatible=true&loudness_max=-8&duration_min=90");

  expect(await screen.findByRole("link", { name: "Night Drive" })).toBeInTheDocument();
  expect(screen.getByRole("searchbox", { name: "Search" })).toHaveValue("drive");
  expect(screen.getByLabelText("Tempo from (BPM)")).toHaveValue(100);
  expect(screen.getByLabelText("Key")).toHaveValue("8A");
  expect(screen.getByRole("checkbox", { name: "Compatible keys (Camelot)" })).toBeChecked();
  expect(screen.getByLabelText("Loudness to (LUFS)")).toHaveValue(-8);
  expect(screen.getByLabelText("Duration from (min)")).toHaveValue(1.5);
  expect(asked[0]?.toString()).toBe("q=drive&tempo_min=100&key=8A&compatible=true&loudness_max=-8&duration_min=90&limit=20");
  expect(screen.getByText("124 BPM · A minor (8A) · -9.5 LUFS")).toBeInTheDocument();
});
