/** The pipeline's live events (track.progress / track.ready / track.failed), latest per track. */
import { create } from "zustand";

import { socket } from "./client";
import { isTrackEvent, type TrackEvent } from "./frames";

interface TrackEvents {
  latest: Record<string, TrackEvent>;
}

export const useTrackEvents = create<TrackEvents>(() => ({ latest: {} }));

/** The latest pipeline event of a track seen since the page was opened (undefined: none). */
export function useTrackEvent(trackId: string | null | undefined): TrackEvent | undefined {
  return useTrackEvents((s) => (trackId ? s.latest[trackId] : undefined));
}

const listeners = new Set<(event: TrackEvent) => void>();

/** Be told of every pipeline event of the user's tracks. */
export function onTrackEvent(listener: (event: TrackEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Take a frame in (the socket calls this; tests too). */
export function receiveTrackEvent(event: TrackEvent): void {
  useTrackEvents.setState((s) => {
    const previous = s.latest[event.track_id];
    // A late progress frame never undoes a track's end.
    if (previous && previous.type !== "track.progress" && event.type === "track.progress") return s;
    return { latest: { ...s.latest, [event.track_id]: event } };
  });
  for (const listener of listeners) listener(event);
}

socket.on((frame) => {
  if (isTrackEvent(frame)) receiveTrackEvent(frame);
});
