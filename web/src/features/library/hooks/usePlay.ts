/** The one place where the library hands tracks to the player. */
import { playTracks, type PlayableTrack } from "@/features/player";

export type PlayFn = (tracks: PlayableTrack[], startIndex: number) => void;

export function usePlay(): PlayFn | null {
  return playTracks;
}
