import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";

import { playTracks, usePlayer } from "../store";
import { fakeEngine, settle, tracks } from "../test-engine";
import { PlayerBar } from "./PlayerBar";
import { ShortcutsDialog } from "./ShortcutsDialog";

function renderBar() {
  return render(
    <MemoryRouter>
      <input aria-label="Search" id="search-box" />
      <PlayerBar />
      <ShortcutsDialog />
    </MemoryRouter>,
  );
}

test("the bar shows the current track and its controls drive the player", async () => {
  const user = userEvent.setup();
  const engine = fakeEngine();
  renderBar();
  expect(screen.getByRole("button", { name: "Play" })).toBeDisabled();
  await act(async () => {
    playTracks(tracks(3));
    await settle();
  });
  expect(screen.getByRole("link", { name: "Track 0" })).toHaveAttribute("href", "/tracks/t0");
  await user.click(screen.getByRole("button", { name: "Pause" }));
  expect(engine.pause).toHaveBeenCalled();
  await user.click(screen.getByRole("button", { name: "Play" }));
  expect(engine.play).toHaveBeenCalled();
  await user.click(screen.getByRole("button", { name: "Next track" }));
  expect(screen.getByRole("link", { name: "Track 1" })).toBeInTheDocument();
  await user.click(screen.getByRole("button", { name: "Previous track" }));
  expect(screen.getByRole("link", { name: "Track 0" })).toBeInTheDocument();

  const shuffle = screen.getByRole("button", { name: "Shuffle" });
  expect(shuffle).toHaveAttribute("aria-pressed", "false");
  await user.click(shuffle);
  expect(shuffle).toHaveAttribute("aria-pressed", "true");
  const repeat = screen.getByRole("button", { name: "Repeat" });
  await user.click(repeat);
  expect(repeat).toHaveAttribute("aria-pressed", "true");
  expect(usePlayer.getState().repeat).toBe("all");

  const normalise = screen.getByRole("switch", { name: "Loudness normalisation" });
  expect(normalise).toBeChecked();
  await user.click(normalise);
  expect(engine.setNormalisation).toHaveBeenLastCalledWith(false);

  await user.click(screen.getByRole("button", { name: "Mute" }));
  expect(engine.setVolume).toHaveBeenLastCalledWith(1, true);
  expect(screen.getByRole("button", { name: "Unmute" })).toBeInTheDocument();
});

test("the seek slider shows position and duration and moves with the keyboard", async () => {
  const engine = fakeEngine();
  renderBar();
  await act(async () => {
    playTracks(tracks(1));
    await settle();
    usePlayer.setState({ position: 30, duration: 100 });
  });
  const seek = screen.getByRole("slider", { name: "Seek" });
  expect(seek).toHaveAttribute("aria-valuenow", "30");
  expect(seek).toHaveAttribute("aria-valuemax", "100");
  expect(seek).toHaveAttribute("aria-valuetext", "0:30 of 1:40");
  expect(screen.getByRole("slider", { name: "Volume" })).toHaveAttribute("aria-valuenow", "100");
  seek.focus();
  await userEvent.keyboard("{ArrowRight}");
  expect(engine.seek).toHaveBeenLastCalledWith(31);
  await userEvent.keyboard("{End}");
  expect(engine.seek).toHaveBeenLastCalledWith(100);
  // Once the key is done, the slider follows the music again.
  act(() => usePlayer.setState({ position: 12 }));
  expect(seek).toHaveAttribute("aria-valuenow", "12");
});

test("keyboard shortcuts work anywhere but in a text field; ? lists them", async () => {
  const user = userEvent.setup();
  const engine = fakeEngine();
  renderBar();
  await act(async () => {
    playTracks(tracks(3));
    await settle();
    usePlayer.setState({ position: 20, duration: 100 });
  });
  await user.keyboard(" ");
  expect(usePlayer.getState().playing).toBe(false);
  await user.keyboard("{ArrowRight}");
  expect(engine.seek).toHaveBeenLastCalledWith(25);
  await user.keyboard("{ArrowLeft}");
  expect(engine.seek).toHaveBeenLastCalledWith(20);
  await user.keyboard("{Shift>}{ArrowRight}{/Shift}");
  expect(usePlayer.getState().index).toBe(1);
  await user.keyboard("m");
  expect(usePlayer.getState().muted).toBe(true);

  await user.keyboard("/");
  const search = screen.getByRole("textbox", { name: "Search" });
  expect(search).toHaveFocus();
  await user.keyboard("m /");
  expect(search).toHaveValue("m /");
  expect(usePlayer.getState().muted).toBe(true);
  search.blur();

  // On a slider the arrows are the slider's, but letters are still shortcuts.
  screen.getByRole("slider", { name: "Volume" }).focus();
  await user.keyboard("m");
  expect(usePlayer.getState().muted).toBe(false);
  const seeks = vi.mocked(engine.seek).mock.calls.length;
  await user.keyboard("{ArrowLeft}");
  expect(usePlayer.getState().volume).toBe(0.95);
  expect(engine.seek).toHaveBeenCalledTimes(seeks);
  screen.getByRole("slider", { name: "Volume" }).blur();

  await user.keyboard("?");
  const dialog = await screen.findByRole("dialog", { name: "Keyboard shortcuts" });
  expect(within(dialog).getByText("Play or pause")).toBeInTheDocument();
  await user.keyboard("{Escape}");
  expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
});
