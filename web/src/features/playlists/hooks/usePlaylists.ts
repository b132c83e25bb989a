import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { useCurrentUser } from "@/features/auth";

import {
  addItem,
  createPlaylist,
  deletePlaylist,
  fetchPlaylist,
  fetchUserPlaylists,
  moved,
  playlistKeys,
  removeItem,
  reorder,
  updatePlaylist,
  type Playlist,
  type Visibility,
} from "../api/playlists";

export function useMyPlaylists() {
  const user = useCurrentUser();
  return useQuery({
    queryKey: playlistKeys.ofUser(user?.handle ?? ""),
    queryFn: () => fetchUserPlaylists(user!.handle),
    enabled: !!user,
  });
}

export function usePlaylist(id: string) {
  return useQuery({ queryKey: playlistKeys.one(id), queryFn: () => fetchPlaylist(id) });
}

export function useCreatePlaylist() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ title, visibility }: { title: string; visibility: Visibility }) => createPlaylist(title, visibility),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: playlistKeys.all }),
  });
}

export function useUpdatePlaylist(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (changes: { title?: string; visibility?: Visibility }) => updatePlaylist(id, changes),
    onSuccess: (playlist) => {
      queryClient.setQueryData(playlistKeys.one(id), playlist);
      void queryClient.invalidateQueries({ queryKey: playlistKeys.all });
    },
  });
}

export function useDeletePlaylist() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => deletePlaylist(id),
    onSuccess: (_, id) => {
      queryClient.removeQueries({ queryKey: playlistKeys.one(id) });
      void queryClient.invalidateQueries({ queryKey: playlistKeys.all });
    },
  });
}

export function useAddToPlaylist() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ playlistId, trackId }: { playlistId: string; trackId: string }) => addItem(playlistId, trackId),
    onSuccess: ({ playlist }) => {
      queryClient.setQueryData(playlistKeys.one(playlist.id), playlist);
      void queryClient.invalidateQueries({ queryKey: playlistKeys.all });
    },
  });
}

export function useRemoveItem(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (itemId: string) => removeItem(id, itemId),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: playlistKeys.all }),
  });
}

/** Move an item; the list shows the new order at once and goes back if the API refuses. */
export function useReorder(id: string) {
  const queryClient = useQueryClient();
  const key = playlistKeys.one(id);
  const mutationKey = [...key, "order"];
  return useMutation<Playlist, Error, { from: number; to: number }, { before: Playlist | undefined }>({
    mutationKey,
    // onMutate has already moved the item in the cache: send the order as it now stands.
    mutationFn: () => {
      const current = queryClient.getQueryData<Playlist>(key);
      const order = (current?.items ?? []).map((item) => item.id);
      return reorder(id, order);
    },
    onMutate: async ({ from, to }) => {
      await queryClient.cancelQueries({ queryKey: key });
      const before = queryClient.getQueryData<Playlist>(key);
      if (before) {
        const items = moved(before.items, from, to).map((item, position) => ({ ...item, position }));
        queryClient.setQueryData<Playlist>(key, { ...before, items });
      }
      return { before };
    },
    onError: (_error, _vars, context) => {
      if (context?.before) queryClient.setQueryData(key, context.before);
    },
    onSuccess: (playlist) => {
      // A later move still on its way has the newer order: only the last answer is kept.
      if (queryClient.isMutating({ mutationKey }) <= 1) queryClient.setQueryData(key, playlist);
    },
  });
}
