/** The one place where the library hands tracks to the player. */
import { playTracks } from "@/features/player";

import type { TrackSummary } from "../api/library";

export type PlayFn = (tracks: TrackSummary[], startIndex: number) => void;

export function usePlay(): PlayFn | null {
  return playTracks;
}
