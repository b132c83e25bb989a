import { act, fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";

import { playTracks, usePlayer } from "../store";
import { fakeEngine, tracks } from "../test-engine";
import { PlayerBar } from "./PlayerBar";

// jsdom lays nothing out: give the queue's scroller the height it has in a browser (6 rows).
const clientHeight = Object.getOwnPropertyDescriptor(Element.prototype, "clientHeight")!;
const clientWidth = Object.getOwnPropertyDescriptor(Element.prototype, "clientWidth")!;
beforeAll(() => {
  Object.defineProperty(Element.prototype, "clientHeight", { configurable: true, get: () => 288 });
  Object.defineProperty(Element.prototype, "clientWidth", { configurable: true, get: () => 360 });
});
afterAll(() => {
  Object.defineProperty(Element.prototype, "clientHeight", clientHeight);
  Object.defineProperty(Element.prototype, "clientWidth", clientWidth);
});

const titles = () => usePlayer.getState().queue.map((e) => e.track.title);

async function openQueue(n: number) {
  fakeEngine();
  render(
    <MemoryRouter>
      <PlayerBar />
    </MemoryRouter>,
  );
  act(() => playTracks(tracks(n)));
  await userEvent.click(screen.getByRole("button", { name: "Queue" }));
  // The panel loads on first use.
  return screen.findByRole("list", { name: "Queue" });
}

// A window of rows whatever the length (how fast it opens is a figure for a benchmark, not a test).
test("a queue of 5,000 tracks renders only a window of rows", async () => {
  const list = await openQueue(5000);
  const rows = within(list).getAllByRole("listitem");
  expect(rows.length).toBeGreaterThan(3);
  expect(rows.length).toBeLessThan(40);
  expect(screen.getByRole("heading", { name: /Queue\s+5000 tracks/ })).toBeInTheDocument();
  expect(rows[0]).toHaveAttribute("aria-setsize", "5000");
});

test("remove, play an entry, clear", async () => {
  const user = userEvent.setup();
  await openQueue(3);
  await user.click(screen.getByRole("button", { name: "Remove Track 1 from the queue" }));
  expect(titles()).toEqual(["Track 0", "Track 2"]);
    await user.click(screen.getByRole("button", { name: "Play Track 2 · Artist" }));
  expect(usePlayer.getState().index).toBe(1);
  await user.click(screen.getByRole("button", { name: "Clear" }));
  expect(titles()).toEqual([]);
  expect(screen.getByText(/The queue is empty/)).toBeInTheDocument();
});

test("the handle reorders with the keyboard and keeps the focus on the moved track", async () => {
  const user = userEvent.setup();
  await openQueue(4);
  const handle = screen.getByRole("button", { name: "Move Track 0" });
  handle.focus();
  await user.keyboard("{ArrowDown}");
  expect(titles()).toEqual(["Track 1", "Track 0", "Track 2", "Track 3"]);
  expect(screen.getByRole("button", { name: "Move Track 0" })).toHaveFocus();
  expect(screen.getByText("Track 0 moved to position 2 of 4")).toBeInTheDocument();
  await user.keyboard("{End}");
  expect(titles()).toEqual(["Track 1", "Track 2", "Track 3", "Track 0"]);
  await user.keyboard("{ArrowUp}");
  expect(titles()).toEqual(["Track 1", "Track 2", "Track 0", "Track 3"]);
  // The seek shortcut did not fire meanwhile.
  expect(usePlayer.getState().position).toBe(0);
  // Escape closes the panel and the focus goes back to its button.
  await user.keyboard("{Escape}");
  expect(screen.queryByRole("region", { name: /Queue/ })).not.toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Queue" })).toHaveFocus();
});

test("the handle reorders by dragging", async () => {
  await openQueue(5);
  const scroller = screen.getByTestId("queue-scroll");
  scroller.getBoundingClientRect = () => ({ top: 100, left: 0, width: 360, height: 288, bottom: 388, right: 360, x: 0, y: 100, toJSON() {} });
  const handle = screen.getByRole("button", { name: "Move Track 0" });
  fireEvent.pointerDown(handle, { pointerId: 1, clientY: 110 });
  fireEvent.pointerMove(handle, { pointerId: 1, clientY: 100 + 48 * 3 + 10 });
  fireEvent.pointerUp(handle, { pointerId: 1, clientY: 100 + 48 * 3 + 10 });
  expect(titles()).toEqual(["Track 1", "Track 2", "Track 3", "Track 0", "Track 4"]);
});
