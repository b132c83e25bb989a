import { useQuery } from "@tanstack/react-query";

import { API, request } from "@/lib/api";

export interface TrackStatus {
  id: string;
  title: string;
  status: "queued" | "processing" | "ready" | "failed";
  error: { code: string | null; message: string | null } | null;
  job: { progress: number | null } | null;
}

export const uploadKeys = {
  all: ["upload"] as const,
  track: (id: string) => [...uploadKeys.all, "track", id] as const,
};

/**
 * The uploaded track's status. The socket's events usually come first; this is the fallback
 * for a socket that is down or an event missed while it reconnected (slower when it is open).
 */
export function useUploadedTrack(trackId: string | null, finished: boolean, socketOpen: boolean) {
  return useQuery({
    queryKey: uploadKeys.track(trackId ?? ""),
    queryFn: () => request<TrackStatus>(`${API}/tracks/${encodeURIComponent(trackId!)}`),
    enabled: trackId !== null,
    refetchInterval: (query) => {
      const status = query.state.data?.status;
      if (finished || status === "ready" || status === "failed") return false;
      return socketOpen ? 10_000 : 2_000;
    },
  });
}
