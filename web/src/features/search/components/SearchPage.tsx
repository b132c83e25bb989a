import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router-dom";

import { Button } from "@/components/Button";
import { ErrorMessage, Loading } from "@/components/Feedback";
import { SelectField, TextField } from "@/components/Field";
import { TrackList } from "@/features/library";
import { ApiError } from "@/lib/api";
import { useTitle } from "@/lib/useTitle";
import { formatNumber } from "@/lib/format";
import { useDebounced } from "@/lib/useDebounced";

import { CAMELOT, criteriaFrom, hasCriteria, PARAMS, search, searchKeys, type Param, type SearchHit } from "../api/search";
import { SEARCH_DELAY_MS } from "./SearchBox";

/** The filters as typed: strings, durations in minutes (the URL carries the API's seconds). */
interface Filters {
  tempo_min: string;
  tempo_max: string;
  half_double: boolean;
  key: string;
  compatible: boolean;
  loudness_min: string;
  loudness_max: string;
  duration_min: string;
  duration_max: string;
  genre: string;
  tag: string;
}

const FILTERS = PARAMS.filter((name) => name !== "q");

const minutes = (seconds: string | null) => (seconds ? String(Math.round((Number(seconds) / 60) * 100) / 100) : "");
const seconds = (mins: string) => (mins.trim() && Number.isFinite(Number(mins)) ? String(Math.round(Number(mins) * 60)) : mins.trim());

function filtersFrom(params: URLSearchParams): Filters {
  return {
    tempo_min: params.get("tempo_min") ?? "",
    tempo_max: params.get("tempo_max") ?? "",
    half_double: params.get("half_double") === "true",
    key: params.get("key") ?? "",
    compatible: params.get("compatible") === "true",
    loudness_min: params.get("loudness_min") ?? "",
    loudness_max: params.get("loudness_max") ?? "",
    duration_min: minutes(params.get("duration_min")),
    duration_max: minutes(params.get("duration_max")),
    genre: params.get("genre") ?? "",
    tag: params.get("tag") ?? "",
  };
}

/** The URL's parameters with the filters' part replaced (the query `q` is the header box's). */
function withFilters(params: URLSearchParams, filters: Filters): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const name of FILTERS) next.delete(name);
  const set = (name: Param, value: string) => {
    if (value.trim()) next.set(name, value.trim());
  };
  set("tempo_min", filters.tempo_min);
  set("tempo_max", filters.tempo_max);
  if (filters.half_double) next.set("half_double", "true");
  set("key", filters.key);
  if (filters.compatible && filters.key) next.set("compatible", "true");
  set("loudness_min", filters.loudness_min);
  set("loudness_max", filters.loudness_max);
  set("duration_min", seconds(filters.duration_min));
  set("duration_max", seconds(filters.duration_max));
  set("genre", filters.genre);
  set("tag", filters.tag);
  return next;
}

const filterString = (params: URLSearchParams) =>
  FILTERS.map((name) => `${name}=${params.get(name) ?? ""}`).join("&");

function HitFigures({ hit }: { hit: SearchHit }) {
  const { t, i18n } = useTranslation("search");
  const parts = [
    hit.tempo_bpm != null ? t("bpm", { value: formatNumber(hit.tempo_bpm, i18n.language, 0) }) : null,
    hit.key ? (hit.camelot ? `${hit.key} (${hit.camelot})` : hit.key) : null,
    hit.loudness_lufs != null ? t("lufs", { value: formatNumber(hit.loudness_lufs, i18n.language) }) : null,
  ].filter(Boolean);
  return <span className="hidden text-sm text-zinc-600 md:inline dark:text-zinc-400">{parts.join(" · ")}</span>;
}

export function SearchPage() {
  const { t } = useTranslation("search");
  const [params, setParams] = useSearchParams();
  const [filters, setFilters] = useState(() => filtersFrom(params));
  const written = useRef(filterString(params));
  const settled = useDebounced(filters, SEARCH_DELAY_MS);
  // Open on a wide screen, or when the link sets filters; folded on a phone otherwise.
  const [filtersOpen, setFiltersOpen] = useState(
    () => FILTERS.some((name) => params.has(name)) || typeof matchMedia !== "function" || matchMedia("(min-width: 640px)").matches,
  );

  // The URL's filters changed from outside (back, a shared link): show them.
  useEffect(() => {
    const now = filterString(params);
    if (now !== written.current) {
      written.current = now;
      setFilters(filtersFrom(params));
    }
  }, [params]);

  // The filters, once settled, go into the URL (replacing, so Back leaves the search page).
  useEffect(() => {
    setParams(
      (current) => {
        const next = withFilters(current, settled);
        written.current = filterString(next);
        return next;
      },
      { replace: true },
    );
  }, [settled, setParams]);

  const criteria = criteriaFrom(params);
  const results = useInfiniteQuery({
    queryKey: searchKeys.results(criteria),
    queryFn: ({ pageParam, signal }) => search(criteria, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    enabled: hasCriteria(criteria),
    placeholderData: keepPreviousData,
  });
  const hits = results.data?.pages.flatMap((page) => page.items) ?? [];
  const fields = results.error instanceof ApiError ? results.error.fields : {};
  const text = (name: Exclude<keyof Filters, "half_double" | "compatible">) => ({
    name,
    value: filters[name],
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setFilters((f) => ({ ...f, [name]: e.target.value })),
    error: fields[name],
  });
  const check = (name: "half_double" | "compatible") => ({
    name,
    checked: filters[name],
    onChange: (e: React.ChangeEvent<HTMLInputElement>) => setFilters((f) => ({ ...f, [name]: e.target.checked })),
  });
  const number = { type: "number", inputMode: "decimal" as const, step: "any" };
  const q = params.get("q");
  useTitle(q ? t("titleFor", { q }) : t("title"));

  return (
    <section className="flex flex-col gap-4 p-4 sm:p-8">
      <h1 className="text-2xl font-semibold">{q ? t("titleFor", { q }) : t("title")}</h1>
      <details
        open={filtersOpen}
        onToggle={(e) => setFiltersOpen(e.currentTarget.open)}
        className="rounded-md border border-zinc-200 dark:border-zinc-800"
      >
        <summary className="cursor-pointer select-none px-4 py-3 font-medium">{t("filters")}</summary>
        <form aria-label={t("filters")} onSubmit={(e) => e.preventDefault()} className="px-4 pb-4">
          <div className="grid grid-cols-2 items-end gap-3 md:grid-cols-4">
            <TextField label={t("tempoMin")} min={1} max={1000} {...number} {...text("tempo_min")} />
            <TextField label={t("tempoMax")} min={1} max={1000} {...number} {...text("tempo_max")} />
            <TextField label={t("loudnessMin")} min={-100} max={10} {...number} {...text("loudness_min")} />
            <TextField label={t("loudnessMax")} min={-100} max={10} {...number} {...text("loudness_max")} />
            <TextField label={t("durationMin")} min={0} {...number} {...text("duration_min")} />
            <TextField label={t("durationMax")} min={0} {...number} {...text("duration_max")} />
            <SelectField label={t("key")} {...text("key")}>
              <option value="">{t("anyKey")}</option>
              {CAMELOT.map(([code, tonic, mode]) => (
                <option key={code} value={code}>
                  {t("keyOption", { code, tonic: t(`note.${tonic}`, { defaultValue: tonic }), mode: t(mode) })}
                </option>
              ))}
            </SelectField>
            <TextField label={t("genre")} maxLength={100} {...text("genre")} />
          </div>
          <div className="mt-3 flex flex-wrap gap-x-6 gap-y-2">
            <label className="flex items-center gap-2">
              <input type="checkbox" {...check("compatible")} disabled={!filters.key} />
              {t("compatible")}
            </label>
            <label className="flex items-center gap-2">
              <input type="checkbox" {...check("half_double")} />
              {t("halfDouble")}
            </label>
            <Button
              variant="ghost"
              size="sm"
              onClick={() =>
                setFilters({
                  tempo_min: "",
                  tempo_max: "",
                  half_double: false,
                  key: "",
                  compatible: false,
                  loudness_min: "",
                  loudness_max: "",
                  duration_min: "",
                  duration_max: "",
                  genre: "",
                  tag: "",
                })
              }
            >
              {t("clear")}
            </Button>
          </div>
        </form>
      </details>
      {Object.keys(fields).length === 0 ? <ErrorMessage error={results.error} /> : null}
      {!hasCriteria(criteria) ? (
        <p className="text-zinc-600 dark:text-zinc-400">{t("hint")}</p>
      ) : results.isPending ? (
        <Loading />
      ) : results.data ? (
        <>
          <p role="status" className="text-sm text-zinc-600 dark:text-zinc-400">
            {results.hasNextPage ? t("countMore", { count: hits.length }) : t("count", { count: hits.length })}
          </p>
          <TrackList tracks={hits} empty={t("none")} extra={(track) => <HitFigures hit={track as SearchHit} />} />
          {results.hasNextPage ? (
            <Button variant="secondary" className="self-center" disabled={results.isFetchingNextPage} onClick={() => void results.fetchNextPage()}>
              {t("more")}
            </Button>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
