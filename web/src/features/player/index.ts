/** The player: one persistent bar, a queue, the keyboard shortcuts. Pages use these only. */
export { PlayerBar } from "./components/PlayerBar";
export { ShortcutsDialog } from "./components/ShortcutsDialog";
export { currentTrack, enqueue, playbackPosition, playTracks, setEngine, usePlayer } from "./store";
export type { PlaybackEngine } from "./engine";
export type { PlayerState } from "./store";
export { formatTime } from "./format";
export type { PlayableTrack, Repeat } from "./types";
