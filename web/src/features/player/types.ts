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

/** One rendition of a track's stream, with the layout of its media timeline (for gapless play). */
export interface GaplessRendition {
  name: string;
  /** RFC 6381 codec: "mp4a.40.2" (AAC-LC) or "fLaC". */
  codec: string;
  bandwidth: number;
  playlistUrl: string;
  sampleRate: number;
  /** Samples of encoder priming at the start of the media timeline, before the first of the track. */
  priming: number;
  /** Exact number of the track's samples after the priming (what a join must keep). */
  samples: number;
}

/** Where a track's audio comes from, as the API describes it (GET /api/v1/tracks/{id}). */
export interface StreamSource {
  trackId: string;
  /** The master playlist (fetching it counts a play). */
  url: string;
  /** Gain (dB) that brings the track to the platform's loudness target; null when unmeasured. */
  gainDb: number | null;
  /** False while the pipeline still adds segments (a growing playlist). */
  complete?: boolean;
  renditions?: GaplessRendition[];
}
