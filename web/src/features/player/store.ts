/**
 * The player's state and the only way to change it. Components read slices with `usePlayer`;
 * actions drive the playback engine (engine.ts), which reports back through `engineEvents`.
 */
import { create } from "zustand";
import { createJSONStorage, persist } from "zustand/middleware";

import { fetchStream } from "./api/stream";
import { MediaElementEngine, type EngineEvents, type PlaybackEngine } from "./engine";
import type { PlayableTrack, QueueEntry, Repeat, StreamSource } from "./types";

/** Previous within this many seconds of a track's start goes back a track; later, to its start. */
export const RESTART_THRESHOLD_S = 3;
export const SEEK_STEP_S = 5;

export interface PlayerState {
  queue: QueueEntry[];
  /** Index of the current entry in `queue`; -1 when nothing is loaded. */
  index: number;
  playing: boolean;
  buffering: boolean;
  position: number;
  duration: number;
  volume: number;
  muted: boolean;
  repeat: Repeat;
  shuffle: boolean;
  /** Keys of the queue in the order shuffle plays them (the current one first when turned on). */
  shuffleOrder: string[];
  normalise: boolean;
  error: string | null;

  playTracks(tracks: PlayableTrack[], startIndex?: number, startAt?: number): void;
  enqueue(track: PlayableTrack): void;
  remove(key: string): void;
  move(from: number, to: number): void;
  clear(): void;
  jump(index: number, startAt?: number): void;
  play(): void;
  pause(): void;
  toggle(): void;
  next(): void;
  previous(): void;
  seek(seconds: number): void;
  seekBy(delta: number): void;
  setVolume(volume: number): void;
  toggleMute(): void;
  cycleRepeat(): void;
  toggleShuffle(): void;
  setNormalise(on: boolean): void;
  /** The engine reports the current track ended. */
  ended(): void;
}

let keySeq = 0;
const newKey = () => `q${++keySeq}`;
const entry = (track: PlayableTrack): QueueEntry => ({ key: newKey(), track });

let random: () => number = Math.random;
/** For tests: a seeded random for shuffle. */
export function setRandom(fn: () => number): void {
  random = fn;
}

function shuffled<T>(items: T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function makeShuffleOrder(queue: QueueEntry[], index: number): string[] {
  const current = queue[index]?.key;
  const rest = shuffled(queue.filter((e) => e.key !== current).map((e) => e.key));
  return current ? [current, ...rest] : rest;
}

// ----------------------------------------------------------------------------- engine wiring

let engine: PlaybackEngine | null = null;
let resolveStream: (trackId: string, access?: string | null) => Promise<StreamSource> = fetchStream;
const streams = new Map<string, { at: number; source: Promise<StreamSource> }>();
/** Stream URLs of private tracks carry an expiring grant: ask again after a while. */
const STREAM_CACHE_MS = 5 * 60_000;

function stream(track: PlayableTrack): Promise<StreamSource> {
  const key = track.access ? `${track.id}?${track.access}` : track.id;
  const cached = streams.get(key);
  if (cached && Date.now() - cached.at < STREAM_CACHE_MS) return cached.source;
  const source = resolveStream(track.id, track.access);
  streams.set(key, { at: Date.now(), source });
  source.catch(() => streams.delete(key));
  return source;
}

export const engineEvents: EngineEvents = {
  time: (position, duration) =>
    usePlayer.setState((s) => ({ position, duration: duration || s.duration })),
  playing: (playing) => usePlayer.setState({ playing }),
  waiting: (buffering) => usePlayer.setState({ buffering }),
  ended: () => usePlayer.getState().ended(),
  error: (message) => usePlayer.setState({ error: message, playing: false, buffering: false }),
};

function getEngine(): PlaybackEngine | null {
  if (!engine && typeof document !== "undefined" && typeof window !== "undefined" && "HTMLMediaElement" in window) {
    engine = new MediaElementEngine(engineEvents);
    const s = usePlayer.getState();
    engine.setVolume(s.volume, s.muted);
    engine.setNormalisation(s.normalise);
  }
  return engine;
}

/** Replace the engine (tests use a fake; jsdom plays no media) and the stream lookup. */
export function setEngine(next: PlaybackEngine | null, resolver?: (trackId: string, access?: string | null) => Promise<StreamSource>): void {
  engine = next;
  streams.clear();
  if (resolver) resolveStream = resolver;
  if (next) {
    const s = usePlayer.getState();
    next.setVolume(s.volume, s.muted);
    next.setNormalisation(s.normalise);
  }
}

/** Seconds into the current track, read from the engine now (for a play head drawn every frame). */
export function playbackPosition(): number {
  return engine ? engine.position() : usePlayer.getState().position;
}

let loadSeq = 0;
/** Tracks passed over in a row because they cannot play (still processing, failed). */
let skipped = 0;

async function loadCurrent(autoplay: boolean, startAt = 0): Promise<void> {
  const seq = ++loadSeq;
  const { queue, index } = usePlayer.getState();
  const current = queue[index];
  const eng = getEngine();
  if (!current || !eng) return;
  usePlayer.setState({ position: startAt, duration: current.track.duration_s ?? 0, error: null, buffering: autoplay, playing: autoplay });
  try {
    const source = await stream(current.track);
    if (seq !== loadSeq) return;
    await eng.load(source, { autoplay, startAt, gapless: followsOn(usePlayer.getState()) });
  } catch (error) {
    if (seq !== loadSeq) return;
    const message = error instanceof Error ? error.message : String(error);
    // Playing a list, a track that cannot play yet is passed over (once round the queue at most).
    const s = usePlayer.getState();
    const next = followingIndex(s, 1, false);
    if (autoplay && message.startsWith("not_playable") && next !== null && skipped < s.queue.length - 1) {
      skipped++;
      usePlayer.setState({ index: next });
      void loadCurrent(true);
      return;
    }
    skipped = 0;
    usePlayer.setState({ error: message, playing: false, buffering: false });
    return;
  }
  skipped = 0;
  preloadNext();
}

/** Whether a track follows the current one when it ends (repeat-one plays it again instead). */
function followsOn(s: PlayerState): boolean {
  return s.repeat !== "one" && followingIndex(s, 1, false) !== null;
}

function preloadNext(): void {
  const s = usePlayer.getState();
  const nextIndex = followsOn(s) ? followingIndex(s, 1, false) : null;
  const next = nextIndex === null ? undefined : s.queue[nextIndex];
  if (!next) {
    engine?.preload(null);
    return;
  }
  const key = next.key;
  stream(next.track).then(
    (source) => {
      // Only if it is still what comes next once its stream is known.
      const now = usePlayer.getState();
      const at = followsOn(now) ? followingIndex(now, 1, false) : null;
      if (at !== null && now.queue[at]?.key === key) engine?.preload(source);
    },
    () => undefined,
  );
}

/** The index `step` (±1) away from the current one, following shuffle and repeat; null at an end. */
function followingIndex(s: PlayerState, step: 1 | -1, wrapAlways: boolean): number | null {
  const n = s.queue.length;
  if (n === 0) return null;
  const wrap = wrapAlways || s.repeat === "all";
  if (s.shuffle) {
    const order = s.shuffleOrder;
    const at = order.indexOf(s.queue[s.index]?.key ?? "");
    let pos = at + step;
    if (pos >= order.length || pos < 0) {
      if (!wrap) return null;
      pos = (pos + order.length) % order.length;
    }
    const key = order[pos];
    const found = s.queue.findIndex((e) => e.key === key);
    return found >= 0 ? found : null;
  }
  let i = s.index + step;
  if (i >= n || i < 0) {
    if (!wrap) return null;
    i = (i + n) % n;
  }
  return i;
}

// ----------------------------------------------------------------------------- the store

export const usePlayer = create<PlayerState>()(
  persist(
    (set, get) => ({
      queue: [],
      index: -1,
      playing: false,
      buffering: false,
      position: 0,
      duration: 0,
      volume: 1,
      muted: false,
      repeat: "off",
      shuffle: false,
      shuffleOrder: [],
      normalise: true,
      error: null,

      playTracks(tracks, startIndex = 0, startAt = 0) {
        if (tracks.length === 0) return;
        const queue = tracks.map(entry);
        const index = Math.max(0, Math.min(startIndex, queue.length - 1));
        set({ queue, index, shuffleOrder: get().shuffle ? makeShuffleOrder(queue, index) : [] });
        void loadCurrent(true, startAt);
      },

      enqueue(track) {
        const added = entry(track);
        const s = get();
        const queue = [...s.queue, added];
        let shuffleOrder = s.shuffleOrder;
        if (s.shuffle) {
          // Somewhere among the tracks still to come.
          const at = shuffleOrder.indexOf(s.queue[s.index]?.key ?? "") + 1;
          const pos = at + Math.floor(random() * (shuffleOrder.length - at + 1));
          shuffleOrder = [...shuffleOrder.slice(0, pos), added.key, ...shuffleOrder.slice(pos)];
        }
        set({ queue, shuffleOrder });
        if (s.index < 0) {
          set({ index: 0 });
          void loadCurrent(false);
        } else if (queue.length === s.index + 2) {
          preloadNext();
        }
      },

      remove(key) {
        const s = get();
        const at = s.queue.findIndex((e) => e.key === key);
        if (at < 0) return;
        const queue = s.queue.filter((e) => e.key !== key);
        const shuffleOrder = s.shuffleOrder.filter((k) => k !== key);
        if (at === s.index) {
          // The current track leaves: what came after it takes its place.
          if (queue.length === 0) {
            get().clear();
            return;
          }
          const nextKey = s.shuffle ? shuffleOrder[s.shuffleOrder.indexOf(key)] : undefined;
          let index = s.shuffle && nextKey ? queue.findIndex((e) => e.key === nextKey) : at;
          if (index < 0 || index >= queue.length) index = s.repeat === "all" ? 0 : queue.length - 1;
          set({ queue, shuffleOrder, index });
          void loadCurrent(s.playing);
          return;
        }
        set({ queue, shuffleOrder, index: at < s.index ? s.index - 1 : s.index });
        preloadNext();
      },

      move(from, to) {
        const s = get();
        if (from === to || from < 0 || to < 0 || from >= s.queue.length || to >= s.queue.length) return;
        const queue = s.queue.slice();
        const [moved] = queue.splice(from, 1);
        queue.splice(to, 0, moved!);
        const currentKey = s.queue[s.index]?.key;
        set({ queue, index: queue.findIndex((e) => e.key === currentKey) });
        preloadNext();
      },

      clear() {
        loadSeq++;
        engine?.stop();
        set({ queue: [], index: -1, shuffleOrder: [], playing: false, buffering: false, position: 0, duration: 0, error: null });
      },

      jump(index, startAt = 0) {
        const s = get();
        if (index < 0 || index >= s.queue.length) return;
        set({ index });
        void loadCurrent(true, startAt);
      },

      play() {
        const s = get();
        if (s.index < 0) return;
        if (s.error) {
          void loadCurrent(true, s.position);
          return;
        }
        set({ playing: true });
        void getEngine()?.play();
      },

      pause() {
        set({ playing: false });
        getEngine()?.pause();
      },

      toggle() {
        if (get().playing) get().pause();
        else get().play();
      },

      next() {
        const s = get();
        const i = followingIndex(s, 1, false);
        if (i === null) return;
        set({ index: i });
        void loadCurrent(true);
      },

      previous() {
        const s = get();
        if (s.position > RESTART_THRESHOLD_S) {
          get().seek(0);
          return;
        }
        const i = followingIndex(s, -1, s.repeat === "all");
        if (i === null) {
          get().seek(0);
          return;
        }
        set({ index: i });
        void loadCurrent(true);
      },

      seek(seconds) {
        const s = get();
        if (s.index < 0) return;
        const max = s.duration > 0 ? s.duration : Number.POSITIVE_INFINITY;
        const position = Math.max(0, Math.min(seconds, max));
        set({ position });
        getEngine()?.seek(position);
      },

      seekBy(delta) {
        get().seek(get().position + delta);
      },

      setVolume(volume) {
        const v = Math.max(0, Math.min(1, volume));
        set({ volume: v, muted: v === 0 ? get().muted : false });
        getEngine()?.setVolume(v, get().muted);
      },

      toggleMute() {
        const muted = !get().muted;
        set({ muted });
        getEngine()?.setVolume(get().volume, muted);
      },

      cycleRepeat() {
        const order: Repeat[] = ["off", "all", "one"];
        set({ repeat: order[(order.indexOf(get().repeat) + 1) % order.length]! });
        preloadNext();
      },

      toggleShuffle() {
        const s = get();
        const shuffle = !s.shuffle;
        set({ shuffle, shuffleOrder: shuffle ? makeShuffleOrder(s.queue, s.index) : [] });
        preloadNext();
      },

      setNormalise(on) {
        set({ normalise: on });
        getEngine()?.setNormalisation(on);
      },

      ended() {
        const s = get();
        if (s.repeat === "one") {
          get().seek(0);
          get().play();
          return;
        }
        const i = followingIndex(s, 1, false);
        if (i === null) {
          // The end of the queue: stop, ready to play it again from the start of the last track.
          set({ playing: false, position: 0 });
          getEngine()?.seek(0);
          return;
        }
        set({ index: i });
        void loadCurrent(true);
      },
    }),
    {
      name: "veza.player",
      storage: createJSONStorage(() => localStorage),
      partialize: (s) => ({ normalise: s.normalise, volume: s.volume, muted: s.muted, repeat: s.repeat }),
    },
  ),
);

/** Play these tracks from `startIndex`, replacing the queue. */
export function playTracks(tracks: PlayableTrack[], startIndex = 0, startAt = 0): void {
  usePlayer.getState().playTracks(tracks, startIndex, startAt);
}

/** Add a track at the end of the queue. */
export function enqueue(track: PlayableTrack): void {
  usePlayer.getState().enqueue(track);
}

/** Whether Next has somewhere to go (the end of the queue without repeat has not). */
export function hasNext(s: PlayerState): boolean {
  return followingIndex(s, 1, false) !== null;
}

/** The current track, if any. */
export function currentTrack(s: PlayerState = usePlayer.getState()): PlayableTrack | null {
  return s.queue[s.index]?.track ?? null;
}
