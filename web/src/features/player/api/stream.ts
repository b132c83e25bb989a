import { API, request } from "@/lib/api";

import type { GaplessRendition, StreamSource } from "../types";

interface RenditionDetail {
  name: string;
  codec: string;
  bandwidth: number;
  playlist_url?: string;
  sample_rate?: number;
  priming_samples?: number | null;
  samples?: number | null;
}

interface TrackDetail {
  id: string;
  status: string;
  stream: { master_url: string; complete?: boolean; renditions?: RenditionDetail[] } | null;
  analysis: { gain_db?: number | null } | null;
}

/** The renditions whose timeline the API describes exactly (the others cannot join gaplessly). */
function renditions(list: RenditionDetail[] | undefined): GaplessRendition[] {
  const known: GaplessRendition[] = [];
  for (const r of list ?? []) {
    if (!r.playlist_url || !r.sample_rate || typeof r.samples !== "number" || typeof r.priming_samples !== "number") continue;
    known.push({
      name: r.name,
      codec: r.codec,
      bandwidth: r.bandwidth,
      playlistUrl: r.playlist_url,
      sampleRate: r.sample_rate,
      priming: r.priming_samples,
      samples: r.samples,
    });
  }
  return known;
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
    complete: track.stream.complete === true,
    renditions: renditions(track.stream.renditions),
  };
}

/** The cover art's URL (the API redirects to the picture, or answers 404 when there is none). */
export function coverUrl(trackId: string): string {
  return `${API}/tracks/${encodeURIComponent(trackId)}/cover`;
}
