import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { useCurrentUser } from "@/features/auth";

import {
  deleteTrack,
  fetchAnalysis,
  fetchHistory,
  fetchLikes,
  fetchNewest,
  fetchOwnerTracks,
  fetchProfile,
  fetchStats,
  fetchTrack,
  libraryKeys,
  reprocessTrack,
  setFollow,
  setLike,
  updateTrack,
  type Profile,
  type Track,
  type TrackUpdate,
} from "../api/library";

const busy = (track: Track | undefined) => track?.status === "queued" || track?.status === "processing";

export const useNewest = () => useQuery({ queryKey: libraryKeys.newest(), queryFn: fetchNewest });

export function useTrack(id: string, access?: string | null) {
  return useQuery({
    queryKey: libraryKeys.track(id, access),
    queryFn: () => fetchTrack(id, access),
    // While the pipeline works on it, follow its progress.
    refetchInterval: (query) => (busy(query.state.data) ? 2000 : false),
  });
}

export function useAnalysis(id: string, ready: boolean) {
  return useQuery({ queryKey: libraryKeys.analysis(id), queryFn: () => fetchAnalysis(id), enabled: ready });
}

export function useStats(id: string, enabled: boolean) {
  return useQuery({ queryKey: libraryKeys.stats(id), queryFn: () => fetchStats(id), enabled });
}

export function useOwnerTracks(handle: string, poll = false) {
  return useQuery({
    queryKey: libraryKeys.byOwner(handle),
    queryFn: () => fetchOwnerTracks(handle),
    enabled: !!handle,
    refetchInterval: (query) =>
      poll && query.state.data?.items.some((t) => t.status === "queued" || t.status === "processing") ? 3000 : false,
  });
}

export const useProfile = (handle: string) =>
  useQuery({ queryKey: libraryKeys.profile(handle), queryFn: () => fetchProfile(handle) });

export function useLikes() {
  const user = useCurrentUser();
  return useQuery({ queryKey: libraryKeys.likes(), queryFn: fetchLikes, enabled: !!user });
}

export function useHistory() {
  return useQuery({ queryKey: libraryKeys.history(), queryFn: fetchHistory });
}

/** Like or unlike; the count the API answers is kept until the next read of the track. */
export function useLike(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (liked: boolean) => setLike(id, liked),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: libraryKeys.likes() });
      // Tracks and pages carry `likes` and `liked_by_me`.
      void queryClient.invalidateQueries({ queryKey: libraryKeys.tracks() });
    },
  });
}

export function useFollow(handle: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (follow: boolean) => setFollow(handle, follow),
    onSuccess: (state) => {
      queryClient.setQueryData<Profile>(libraryKeys.profile(handle), (profile) =>
        profile ? { ...profile, followed_by_me: state.following, followers: state.followers } : profile,
      );
    },
  });
}

export function useUpdateTrack(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (changes: TrackUpdate) => updateTrack(id, changes),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: libraryKeys.tracks() }),
  });
}

export function useDeleteTrack(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => deleteTrack(id),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: libraryKeys.track(id) });
      void queryClient.invalidateQueries({ queryKey: libraryKeys.all });
    },
  });
}

export function useReprocess(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => reprocessTrack(id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: libraryKeys.tracks() });
      void queryClient.invalidateQueries({ queryKey: libraryKeys.analysis(id) });
    },
  });
}
