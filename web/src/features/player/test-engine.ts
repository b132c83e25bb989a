/** A playback engine for tests (jsdom plays no media): it records what the store asked. */
import { vi } from "vitest";

import type { PlaybackEngine } from "./engine";
import { engineEvents, setEngine, usePlayer } from "./store";
import type { PlayableTrack, StreamSource } from "./types";

export function fakeEngine() {
  const loaded: string[] = [];
  const engine: PlaybackEngine & { loaded: string[] } = {
    loaded,
    element: null,
    position: vi.fn(() => usePlayer.getState().position),
    load: vi.fn(async (source: StreamSource, { autoplay }: { autoplay: boolean }) => {
      loaded.push(source.trackId);
      engineEvents.playing(autoplay);
    }),
    play: vi.fn(async () => engineEvents.playing(true)),
    pause: vi.fn(() => engineEvents.playing(false)),
    seek: vi.fn((s: number) => engineEvents.time(s, usePlayer.getState().duration)),
    setVolume: vi.fn(),
    setNormalisation: vi.fn(),
    preload: vi.fn(),
    stop: vi.fn(),
  };
  setEngine(engine, async (trackId) => ({ trackId, url: `/api/v1/tracks/${trackId}/master.m3u8`, gainDb: -3 }));
  usePlayer.getState().clear();
  usePlayer.setState({ repeat: "off", shuffle: false, shuffleOrder: [], volume: 1, muted: false, normalise: true });
  return engine;
}

export const tracks = (n: number, prefix = "t"): PlayableTrack[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, title: `Track ${i}`, artist: "Artist", duration_s: 100 }));

/** Let the store's loads (promises) settle. */
export const settle = () => new Promise((r) => setTimeout(r, 0));
