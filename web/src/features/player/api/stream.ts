import { API, request } from "@/lib/api";

import type { StreamSource } from "../types";

interface TrackDetail {
  id: string;
  status: string;
  stream: { master_url: string } | null;
  analysis: { gain_db?: number | null } | null;
}

/** A track's stream as the API hands it out (with a grant for a private track). */
export async function fetchStream(trackId: string, access?: string | null): Promise<StreamSource> {
  const grant = access ? `?access=${encodeURIComponent(access)}` : "";
  const track = await request<TrackDetail>(`${API}/tracks/${encodeURIComponent(trackId)}${grant}`);
  if (!track.stream) throw new Error(`not_playable:${track.status}`);
  return {
    trackId: track.id,
    url: track.stream.master_url,
    gainDb: typeof track.analysis?.gain_db === "number" ? track.analysis.gain_db : null,
  };
}

/** The cover art's URL (the API redirects to the picture, or answers 404 when there is none). */
export function coverUrl(trackId: string): string {
  return `${API}/tracks/${encodeURIComponent(trackId)}/cover`;
}
