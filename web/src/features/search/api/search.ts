import { request } from "@/lib/api";
import { queryString } from "@/lib/query";

export interface SearchHit {
  id: string;
  title: string;
  artist: string | null;
  album: string | null;
  owner_handle: string;
  duration_s: number | null;
  tempo_bpm: number | null;
  key: string | null;
  camelot: string | null;
  loudness_lufs: number | null;
  genre: string | null;
  tags: string[];
  /** Its cover art; null when it has none. */
  cover_url: string | null;
}

export interface SearchPage {
  items: SearchHit[];
  next_cursor: string | null;
  mode: string;
}

/** The API's search parameters, exactly as the URL of the search page carries them. */
export const PARAMS = [
  "q",
  "tempo_min",
  "tempo_max",
  "half_double",
  "key",
  "compatible",
  "loudness_min",
  "loudness_max",
  "duration_min",
  "duration_max",
  "genre",
  "tag",
] as const;
export type Param = (typeof PARAMS)[number];
export type Criteria = Partial<Record<Param, string>>;

export function criteriaFrom(params: URLSearchParams): Criteria {
  const out: Criteria = {};
  for (const name of PARAMS) {
    const value = params.get(name);
    if (value !== null && value !== "") out[name] = value;
  }
  return out;
}

export const hasCriteria = (criteria: Criteria) => Object.keys(criteria).length > 0;

export const searchKeys = {
  all: ["search"] as const,
  results: (criteria: Criteria) => [...searchKeys.all, criteria] as const,
};

export function search(criteria: Criteria, cursor: string | null, signal?: AbortSignal): Promise<SearchPage> {
  return request<SearchPage>(`search${queryString({ ...criteria, cursor, limit: 20 })}`, { signal });
}

/** The Camelot wheel: code, tonic and mode, as the API's key filter accepts them. */
export const CAMELOT: [string, string, "minor" | "major"][] = [
  ["1A", "A♭", "minor"], ["2A", "E♭", "minor"], ["3A", "B♭", "minor"], ["4A", "F", "minor"],
  ["5A", "C", "minor"], ["6A", "G", "minor"], ["7A", "D", "minor"], ["8A", "A", "minor"],
  ["9A", "E", "minor"], ["10A", "B", "minor"], ["11A", "F♯", "minor"], ["12A", "D♭", "minor"],
  ["1B", "B", "major"], ["2B", "F♯", "major"], ["3B", "D♭", "major"], ["4B", "A♭", "major"],
  ["5B", "E♭", "major"], ["6B", "B♭", "major"], ["7B", "F", "major"], ["8B", "C", "major"],
  ["9B", "G", "major"], ["10B", "D", "major"], ["11B", "A", "major"], ["12B", "E", "major"],
];
