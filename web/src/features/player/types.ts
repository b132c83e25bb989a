/** What the player needs to know of a track; a page passes what it has (a list item will do). */
export interface PlayableTrack {
  id: string;
  title: string;
  artist?: string | null;
  owner_handle?: string | null;
  duration_s?: number | null;
  /** A stream grant (`?access=` of a shared private track's link), when the page has one. */
  access?: string | null;
}

/** One place in the queue: the same track may be queued twice, each entry has its own key. */
export interface QueueEntry {
  key: string;
  track: PlayableTrack;
}

export type Repeat = "off" | "all" | "one";

/** Where a track's audio comes from, as the API describes it (GET /api/v1/tracks/{id}). */
export interface StreamSource {
  trackId: string;
  url: string;
  /** Gain (dB) that brings the track to the platform's loudness target; null when unmeasured. */
  gainDb: number | null;
}
