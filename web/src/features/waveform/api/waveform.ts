import { useQuery } from "@tanstack/react-query";

import { API, request } from "@/lib/api";

/** One zoom level in audiowaveform's JSON format, version 2 (pipeline/waveform.py). */
export interface WaveformData {
  version: number;
  channels: number;
  sample_rate: number;
  samples_per_pixel: number;
  bits: number;
  length: number;
  /** min, max per pixel and channel. */
  data: number[];
}

export interface AnalysisInfo {
  duration_s: number | null;
  sample_rate: number | null;
  tempo: { bpm: number | null; beats_s: number[] | null };
  cues: { cue_in_s: number | null; cue_out_s: number | null };
  waveform: { zoom_levels: number[] };
}

export const waveformKeys = {
  all: ["waveform"] as const,
  analysis: (trackId: string, access?: string | null) => [...waveformKeys.all, "analysis", trackId, access ?? null] as const,
  peaks: (trackId: string, zoom: number | null, access?: string | null) =>
    [...waveformKeys.all, "peaks", trackId, zoom, access ?? null] as const,
};

const base = (trackId: string) => `${API}/tracks/${encodeURIComponent(trackId)}/analysis`;

/** The query string: the zoom level, and the stream grant of a private track's shared link. */
function query(params: { zoom?: number | null; access?: string | null }): string {
  const search = new URLSearchParams();
  if (params.zoom) search.set("zoom", String(params.zoom));
  if (params.access) search.set("access", params.access);
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Enough pixels for a wide screen at double density, without fetching the finest level. */
export const WANTED_PIXELS = 2400;

/** The coarsest zoom level that still gives `WANTED_PIXELS`, else the finest there is. */
export function pickZoom(levels: number[], durationS: number | null, sampleRate: number | null): number | null {
  if (levels.length === 0) return null;
  const sorted = [...levels].sort((a, b) => a - b);
  if (!durationS || !sampleRate) return sorted[0]!;
  const samples = durationS * sampleRate;
  const fitting = sorted.filter((spp) => samples / spp >= WANTED_PIXELS);
  return fitting.length ? fitting[fitting.length - 1]! : sorted[0]!;
}

export function useAnalysis(trackId: string, access?: string | null) {
  return useQuery({
    queryKey: waveformKeys.analysis(trackId, access),
    queryFn: () => request<AnalysisInfo>(`${base(trackId)}${query({ access })}`),
    staleTime: 5 * 60_000,
  });
}

export function usePeaks(trackId: string, zoom: number | null, enabled: boolean, access?: string | null) {
  return useQuery({
    queryKey: waveformKeys.peaks(trackId, zoom, access),
    queryFn: () => request<WaveformData>(`${base(trackId)}/waveform${query({ zoom, access })}`),
    enabled,
    staleTime: Number.POSITIVE_INFINITY,
  });
}
