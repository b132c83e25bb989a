/** The catalogue as the API shows it: tracks, their analysis, artists, likes, follows, plays. */
import { request } from "@/lib/api";
import { queryString } from "@/lib/query";

export type Visibility = "public" | "unlisted" | "private";
export type TrackState = "queued" | "processing" | "ready" | "failed";

/** What a list shows of a track (also enough to hand it to the player). */
export interface TrackSummary {
  id: string;
  title: string;
  artist: string | null;
  owner_handle: string;
  duration_s: number | null;
  status?: string;
  visibility?: Visibility;
  created_at?: string;
  genre?: string | null;
  tags?: string[];
  /** On the API's tracks and pages of tracks (not on likes or history entries). */
  likes?: number;
  /** Whether I like it; null when signed out. */
  liked_by_me?: boolean | null;
  /** Its plays (the owner's own left out); null for anyone but its owner and admins. */
  plays?: number | null;
  /** Its cover art; null when it has none (absent on likes and history entries: unknown). */
  cover_url?: string | null;
}

export interface LoudnessSummary {
  integrated_lufs: number | null;
  range_lu: number | null;
  true_peak_dbtp: number | null;
  sample_peak_dbfs?: number | null;
}

export interface AnalysisSummary {
  tempo_bpm?: number | null;
  key?: string | null;
  key_confidence?: number | null;
  gain_db?: number | null;
  cue_in_s?: number | null;
  cue_out_s?: number | null;
  duration_s?: number | null;
  loudness?: LoudnessSummary | null;
}

export interface Track extends TrackSummary {
  album: string | null;
  description: string | null;
  genre: string | null;
  tags: string[];
  owner_id: string;
  status: TrackState;
  visibility: Visibility;
  analysis: AnalysisSummary | null;
  error: { code: string | null; message: string | null } | null;
  job: { state: string; progress: number; error: { code: string | null; message: string | null } | null } | null;
  stream: { master_url: string; player_url: string; complete: boolean } | null;
  created_at: string;
  updated_at: string;
  likes: number;
  liked_by_me: boolean | null;
  plays: number | null;
}

export interface Analysis {
  duration_s: number | null;
  cues: { cue_in_s: number | null; cue_out_s: number | null; audible_s: number | null };
  gain: { gain_db: number | null; integrated_lufs: number | null; target_lufs: number };
  key: { camelot: string | null; confidence: number | null; name: string | null };
  loudness: LoudnessSummary;
  tempo: { bpm: number | null; beats_s: number[] | null };
}

export interface Profile {
  id: string;
  handle: string;
  display_name: string | null;
  bio: string | null;
  role: string;
  followers: number;
  following: number;
  followed_by_me: boolean;
  public_tracks: number;
}

export interface TrackUpdate {
  title?: string;
  artist?: string | null;
  album?: string | null;
  genre?: string | null;
  tags?: string[];
  description?: string | null;
  visibility?: Visibility;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
  next?: string | null;
}

export interface LikedTrack extends TrackSummary {
  liked_at: string;
}

export interface HistoryItem {
  started_at: string;
  last_seen_at: string;
  track: TrackSummary;
}

export interface TrackStats {
  total_plays: number;
  unique_listeners: number;
}

export const libraryKeys = {
  all: ["library"] as const,
  tracks: () => [...libraryKeys.all, "tracks"] as const,
  newest: () => [...libraryKeys.tracks(), "newest"] as const,
  byOwner: (handle: string, status?: string) => [...libraryKeys.tracks(), "owner", handle, status ?? "any"] as const,
  track: (id: string, access?: string | null) => [...libraryKeys.tracks(), "one", id, ...(access ? [access] : [])] as const,
  analysis: (id: string) => [...libraryKeys.all, "analysis", id] as const,
  stats: (id: string) => [...libraryKeys.all, "stats", id] as const,
  profile: (handle: string) => [...libraryKeys.all, "profile", handle] as const,
  likes: () => [...libraryKeys.all, "likes"] as const,
  history: () => [...libraryKeys.all, "history"] as const,
};

export const fetchNewest = () => request<Page<TrackSummary>>(`tracks${queryString({ limit: 50 })}`);

export const fetchOwnerTracks = (handle: string) =>
  request<Page<TrackSummary>>(`tracks${queryString({ owner: handle, limit: 100 })}`);

export const fetchTrack = (id: string, access?: string | null) =>
  request<Track>(`tracks/${encodeURIComponent(id)}${queryString({ access })}`);

export const fetchAnalysis = (id: string) => request<Analysis>(`tracks/${encodeURIComponent(id)}/analysis`);

export const fetchStats = (id: string) => request<TrackStats>(`tracks/${encodeURIComponent(id)}/stats`);

export const updateTrack = (id: string, changes: TrackUpdate) =>
  request<Track>(`tracks/${encodeURIComponent(id)}`, { method: "PATCH", json: changes });

export const deleteTrack = (id: string) => request<null>(`tracks/${encodeURIComponent(id)}`, { method: "DELETE" });

export const reprocessTrack = (id: string) =>
  request<unknown>(`tracks/${encodeURIComponent(id)}/reprocess`, { method: "POST" });

export const setLike = (id: string, liked: boolean) =>
  request<{ liked: boolean; likes: number }>(`tracks/${encodeURIComponent(id)}/like`, { method: liked ? "PUT" : "DELETE" });

export const fetchLikes = () => request<Page<LikedTrack>>(`me/likes${queryString({ limit: 100 })}`);

export const fetchHistory = () => request<Page<HistoryItem>>(`me/history${queryString({ limit: 100 })}`);

export const fetchProfile = (handle: string) => request<Profile>(`users/${encodeURIComponent(handle)}`);

export const setFollow = (handle: string, follow: boolean) =>
  request<{ following: boolean; followers: number }>(`users/${encodeURIComponent(handle)}/follow`, {
    method: follow ? "PUT" : "DELETE",
  });

export const coverUrl = (id: string) => `/api/v1/tracks/${encodeURIComponent(id)}/cover`;
