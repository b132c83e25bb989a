import { request } from "@/lib/api";
import { queryString } from "@/lib/query";

export type Visibility = "public" | "unlisted" | "private";

export interface PlaylistTrack {
  id: string;
  title: string;
  artist: string | null;
  owner_handle: string;
  duration_s: number | null;
  status: string;
}

export interface PlaylistItem {
  id: string;
  position: number;
  added_at: string;
  track: PlaylistTrack;
}

export interface Owner {
  id: string;
  handle: string;
  display_name: string | null;
}

export interface PlaylistSummary {
  id: string;
  title: string;
  description: string | null;
  visibility: Visibility;
  item_count: number;
  like_count: number;
  owner: Owner;
  updated_at: string;
}

export interface Playlist extends PlaylistSummary {
  items: PlaylistItem[];
  editable: boolean;
  liked_by_me: boolean;
}

export const playlistKeys = {
  all: ["playlists"] as const,
  ofUser: (handle: string) => [...playlistKeys.all, "user", handle] as const,
  one: (id: string) => [...playlistKeys.all, "one", id] as const,
};

export const fetchUserPlaylists = (handle: string) =>
  request<{ items: PlaylistSummary[]; next_cursor: string | null }>(
    `users/${encodeURIComponent(handle)}/playlists${queryString({ limit: 100 })}`,
  );

export const fetchPlaylist = (id: string) => request<Playlist>(`playlists/${encodeURIComponent(id)}`);

export const createPlaylist = (title: string, visibility: Visibility) =>
  request<Playlist>("playlists", { method: "POST", json: { title, visibility } });

export const updatePlaylist = (id: string, changes: { title?: string; visibility?: Visibility; description?: string | null }) =>
  request<Playlist>(`playlists/${encodeURIComponent(id)}`, { method: "PATCH", json: changes });

export const deletePlaylist = (id: string) => request<null>(`playlists/${encodeURIComponent(id)}`, { method: "DELETE" });

export const addItem = (id: string, trackId: string) =>
  request<{ item_id: string; playlist: Playlist }>(`playlists/${encodeURIComponent(id)}/items`, {
    method: "POST",
    json: { track_id: trackId },
  });

export const removeItem = (id: string, itemId: string) =>
  request<null>(`playlists/${encodeURIComponent(id)}/items/${encodeURIComponent(itemId)}`, { method: "DELETE" });

export const reorder = (id: string, itemIds: string[]) =>
  request<Playlist>(`playlists/${encodeURIComponent(id)}/order`, { method: "PUT", json: { item_ids: itemIds } });

/** The list with the item at `from` moved to `to`. */
export function moved<T>(list: readonly T[], from: number, to: number): T[] {
  const copy = list.slice();
  if (from < 0 || from >= copy.length || to < 0 || to >= copy.length) return copy;
  const [item] = copy.splice(from, 1);
  copy.splice(to, 0, item as T);
  return copy;
}
