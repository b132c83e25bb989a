import { useEffect } from "react";

import { coverUrl } from "../api/stream";
import { currentTrack, SEEK_STEP_S, usePlayer } from "../store";

/** Lock screen, headset and notification controls (Media Session API), where the browser has it. */
export function useMediaSession(): void {
  const track = usePlayer(currentTrack);
  const playing = usePlayer((s) => s.playing);
  const position = usePlayer((s) => Math.floor(s.position));
  const duration = usePlayer((s) => s.duration);

  useEffect(() => {
    const session = typeof navigator !== "undefined" ? navigator.mediaSession : undefined;
    if (!session) return;
    const player = () => usePlayer.getState();
    const handlers: [MediaSessionAction, MediaSessionActionHandler][] = [
      ["play", () => player().play()],
      ["pause", () => player().pause()],
      ["previoustrack", () => player().previous()],
      ["nexttrack", () => player().next()],
      ["seekto", (d) => d.seekTime !== undefined && player().seek(d.seekTime)],
      ["seekbackward", (d) => player().seekBy(-(d.seekOffset ?? SEEK_STEP_S))],
      ["seekforward", (d) => player().seekBy(d.seekOffset ?? SEEK_STEP_S)],
    ];
    for (const [action, handler] of handlers) {
      try {
        session.setActionHandler(action, handler);
      } catch {
        // an action this browser does not know
      }
    }
    return () => {
      for (const [action] of handlers) {
        try {
          session.setActionHandler(action, null);
        } catch {
          // idem
        }
      }
    };
  }, []);

  useEffect(() => {
    const session = typeof navigator !== "undefined" ? navigator.mediaSession : undefined;
    if (!session || typeof MediaMetadata === "undefined") return;
    session.metadata = track
      ? new MediaMetadata({
          title: track.title,
          artist: track.artist || track.owner_handle || "",
          artwork: [{ src: new URL(coverUrl(track.id), location.href).href }],
        })
      : null;
  }, [track]);

  useEffect(() => {
    const session = typeof navigator !== "undefined" ? navigator.mediaSession : undefined;
    if (!session) return;
    session.playbackState = track ? (playing ? "playing" : "paused") : "none";
  }, [track, playing]);

  useEffect(() => {
    const session = typeof navigator !== "undefined" ? navigator.mediaSession : undefined;
    if (!session?.setPositionState || !(duration > 0)) return;
    try {
      session.setPositionState({ duration, position: Math.min(position, duration), playbackRate: 1 });
    } catch {
      // position outside duration while a track changes
    }
  }, [position, duration]);
}
