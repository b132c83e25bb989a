import { screen } from "@testing-library/react";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";

import { renderPage } from "@/test/render";
import { server } from "@/test/server";

import { TrackList } from "./bits";

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const tracks = [
  { id: "t1", title: "First Light", artist: "Ana", owner_handle: "ana", duration_s: 20, status: "ready", cover_url: "http://x/api/v1/tracks/t1/cover" },
  { id: "t2", title: "Dusk", artist: null, owner_handle: "leo", duration_s: 30, status: "ready", cover_url: null },
];

test("a track without a cover shows the placeholder and never asks for one; one with a cover shows it", () => {
  const { container } = renderPage({ "/": <TrackList tracks={tracks} /> }, "/");

  const images = [...container.querySelectorAll("img")].map((img) => img.getAttribute("src"));
  expect(images).toEqual(["/api/v1/tracks/t1/cover"]);
  const rows = screen.getAllByRole("listitem");
  expect(rows[1]?.querySelector("img")).toBeNull();
  expect(rows[1]).toHaveTextContent("♪");
});

test("the title and artist links are targets at least 24 px high (a line of 1.5rem)", () => {
  renderPage({ "/": <TrackList tracks={tracks} /> }, "/");

  for (const name of ["First Light", "Ana", "Dusk", "leo"]) {
    const link = screen.getByRole("link", { name });
    expect(link).toHaveClass("block", "min-h-6", "leading-6");
  }
});
