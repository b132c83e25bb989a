import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, afterEach, beforeAll, expect, test, vi } from "vitest";

import type { Comment } from "../model";
import { useComments } from "../store";
import { CommentMarkers } from "./CommentMarkers";

const comment = (id: string, handle: string, trackMs: number, body: string): Comment => ({
  id, cid: null, author: { id: handle, handle }, body, track_ms: trackMs, at: `2026-12-04T10:00:${id.slice(-2)}Z`, status: "sent",
});

const width = Object.getOwnPropertyDescriptor(HTMLElement.prototype, "clientWidth");
beforeAll(() => Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 1000 }));
afterAll(() => width && Object.defineProperty(HTMLElement.prototype, "clientWidth", width));
afterEach(() => useComments.setState({}, true));

test("markers: one per comment with its author, time and words; a crowd makes one; a click seeks there", async () => {
  useComments.setState({
    t1: {
      roomId: "r1",
      status: "ready",
      error: null,
      comments: [
        comment("m01", "ada", 12_300, "the kick comes in here"),
        comment("m02", "lin", 60_000, "lovely"),
        comment("m03", "ada", 60_500, "and the bass"),
        comment("m04", "kim", 61_000, "yes"),
      ],
    },
  });
  const seekTo = vi.fn();
  render(<CommentMarkers trackId="t1" durationS={200} seekTo={seekTo} />);
  const markers = screen.getAllByRole("button");
  expect(markers.map((m) => m.getAttribute("aria-label"))).toEqual([
    "Comment by @ada at 0:12: the kick comes in here",
    "3 comments at 1:00 by @lin, @ada, @kim",
  ]);
  expect(markers[0]!.parentElement).toHaveStyle({ left: "6.15%" });
  await userEvent.click(screen.getByRole("button", { name: /^Comment by @ada at 0:12/ }));
  expect(seekTo).toHaveBeenCalledWith(12.3);
  await userEvent.click(screen.getByRole("button", { name: /^3 comments at 1:00/ }));
  expect(seekTo).toHaveBeenLastCalledWith(60);
});

test("no comments, no markers", () => {
  const { container } = render(<CommentMarkers trackId="t2" durationS={200} seekTo={() => {}} />);
  expect(screen.queryByRole("button")).toBeNull();
  expect(container.querySelector("ul")).toBeNull();
});
