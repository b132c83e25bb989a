import { lazy, Suspense } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams, useSearchParams } from "react-router-dom";

import { Button } from "@/components/Button";
import { ErrorMessage, Loading } from "@/components/Feedback";
import { useCurrentUser } from "@/features/auth";
import { TrackComments } from "@/features/comments";
import { AddToPlaylistMenu } from "@/features/playlists";
import { ApiError } from "@/lib/api";
import { useTitle } from "@/lib/useTitle";
import { formatCount, formatDate, formatDuration, formatNumber } from "@/lib/format";

import type { Analysis, Track } from "../api/library";
import { useAnalysis, useTrack } from "../hooks/useLibrary";
import { usePlay } from "../hooks/usePlay";
import { Cover, LikeButton, ShareButton, StatusBadge, trackLink } from "./bits";
import { WaveformSlot } from "./WaveformSlot";

// The owner's controls (their dialogs, Radix's dialog under them) load for the owner only.
const OwnerControls = lazy(() => import("./OwnerControls").then((m) => ({ default: m.OwnerControls })));

function Figure({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="rounded-md border border-zinc-200 p-3 dark:border-zinc-800">
      <dt className="text-sm text-zinc-600 dark:text-zinc-400">{label}</dt>
      <dd className="mt-1 text-lg font-medium tabular-nums">{children}</dd>
    </div>
  );
}

function signed(value: number | null | undefined, lang: string): string {
  if (value == null) return "—";
  const text = formatNumber(value, lang);
  return value > 0 ? `+${text}` : text;
}

function Figures({ track, analysis }: { track: Track; analysis?: Analysis | undefined }) {
  const { t, i18n } = useTranslation("library");
  const lang = i18n.language;
  const summary = track.analysis ?? {};
  const loudness = analysis?.loudness ?? summary.loudness ?? null;
  const bpm = analysis?.tempo.bpm ?? summary.tempo_bpm;
  const keyName = analysis?.key.name ?? summary.key;
  const camelot = analysis?.key.camelot;
  const confidence = analysis?.key.confidence ?? summary.key_confidence;
  const gain = analysis?.gain.gain_db ?? summary.gain_db;
  const cueIn = analysis?.cues.cue_in_s ?? summary.cue_in_s;
  const cueOut = analysis?.cues.cue_out_s ?? summary.cue_out_s;
  return (
    <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-4">
      <Figure label={t("fig.duration")}>{formatDuration(track.duration_s ?? summary.duration_s)}</Figure>
      <Figure label={t("fig.tempo")}>{bpm != null ? t("unit.bpm", { value: formatNumber(bpm, lang) }) : "—"}</Figure>
      <Figure label={t("fig.key")}>
        {keyName ? (
          <>
            {keyName}
            {camelot ? <span className="ml-1 text-base text-zinc-600 dark:text-zinc-400">({camelot})</span> : null}
            {confidence != null ? (
              <span className="block text-sm font-normal text-zinc-600 dark:text-zinc-400">
                {t("fig.confidence", { value: new Intl.NumberFormat(lang, { style: "percent" }).format(confidence) })}
              </span>
            ) : null}
          </>
        ) : (
          "—"
        )}
      </Figure>
      <Figure label={t("fig.integrated")}>{loudness?.integrated_lufs != null ? t("unit.lufs", { value: formatNumber(loudness.integrated_lufs, lang) }) : "—"}</Figure>
      <Figure label={t("fig.range")}>{loudness?.range_lu != null ? t("unit.lu", { value: formatNumber(loudness.range_lu, lang) }) : "—"}</Figure>
      <Figure label={t("fig.truePeak")}>{loudness?.true_peak_dbtp != null ? t("unit.dbtp", { value: formatNumber(loudness.true_peak_dbtp, lang) }) : "—"}</Figure>
      <Figure label={t("fig.gain")}>{gain != null ? t("unit.db", { value: signed(gain, lang) }) : "—"}</Figure>
      <Figure label={t("fig.cues")}>
        {cueIn != null || cueOut != null ? `${formatDuration(cueIn)} – ${formatDuration(cueOut)}` : "—"}
      </Figure>
      {/* Plays are its owner's to see (null for everyone else). */}
      {track.plays != null ? <Figure label={t("fig.plays")}>{formatCount(track.plays, lang)}</Figure> : null}
      <Figure label={t("fig.likes")}>{formatCount(track.likes, lang)}</Figure>
    </dl>
  );
}

function Progress({ track }: { track: Track }) {
  const { t } = useTranslation("library");
  const progress = track.job?.progress ?? 0;
  return (
    <div className="rounded-md border border-amber-300 bg-amber-50 p-3 dark:border-amber-800 dark:bg-amber-950">
      <p className="font-medium">{t(`status.${track.status}`)}</p>
      {track.job ? (
        <div
          role="progressbar"
          aria-label={t("progress")}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={progress}
          className="mt-2 h-2 w-full overflow-hidden rounded bg-amber-200 dark:bg-amber-900"
        >
          <div className="h-full bg-amber-700 transition-[width] dark:bg-amber-400" style={{ width: `${progress}%` }} />
        </div>
      ) : null}
    </div>
  );
}

export function TrackPage() {
  const { t, i18n } = useTranslation("library");
  const { id = "" } = useParams();
  const [params] = useSearchParams();
  const access = params.get("access");
  const user = useCurrentUser();
  const query = useTrack(id, access);
  const track = query.data;
  const owner = !!user && !!track && (user.id === track.owner_id || user.role === "admin");
  const analysis = useAnalysis(id, track?.status === "ready");
  const play = usePlay();
  useTitle(track?.title ?? (query.error ? t("notFound") : null));
  if (query.isPending) return <Loading />;
  if (query.error || !track) {
    const notFound = query.error instanceof ApiError && query.error.status === 404;
    return (
      <section className="p-4 sm:p-8">
        <h1 className="text-2xl font-semibold">{notFound ? t("notFound") : t("failed")}</h1>
        {notFound ? null : <ErrorMessage error={query.error} className="mt-2" />}
        <Link className="mt-2 inline-block text-violet-700 underline dark:text-violet-300" to="/">
          {t("backHome")}
        </Link>
      </section>
    );
  }
  // A private track is shared with its grant (the owner's view of it, or the link it was opened from).
  const shareUrl = track.visibility === "private" && track.stream ? track.stream.player_url : trackLink(track.id);
  const failure = track.error?.message ?? track.job?.error?.message;
  return (
    <article className="flex flex-col gap-6 p-4 sm:p-8">
      <header className="flex flex-col gap-4 sm:flex-row sm:items-end">
        <Cover id={track.id} alt={t("coverOf", { title: track.title })} cover={track.cover_url} />
        <div className="min-w-0 flex-1">
          <div className="flex flex-wrap items-center gap-2">
            <StatusBadge status={track.status} />
            {track.visibility !== "public" ? (
              <span className="rounded bg-zinc-200 px-2 py-0.5 text-xs font-medium text-zinc-900 dark:bg-zinc-800 dark:text-zinc-100">
                {t(`visibility.${track.visibility}`)}
              </span>
            ) : null}
          </div>
          <h1 className="mt-1 break-words text-3xl font-bold">{track.title}</h1>
          <p className="mt-1 text-lg">
            <Link to={`/u/${encodeURIComponent(track.owner_handle)}`} className="hover:underline">
              {track.artist || track.owner_handle}
            </Link>
            {track.album ? <span className="text-zinc-600 dark:text-zinc-400"> · {track.album}</span> : null}
          </p>
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
            {[track.genre, ...track.tags.map((tag) => `#${tag}`)].filter(Boolean).join(" · ")}
            {track.genre || track.tags.length ? " · " : ""}
            {formatDate(track.created_at, i18n.language)}
          </p>
          <div className="mt-4 flex flex-wrap gap-2">
            <Button
              aria-label={t("playNamed", { title: track.title })}
              disabled={!play || !track.stream}
              onClick={() => play?.([{ ...track, access }], 0)}
            >
              <span aria-hidden="true">▶</span>
              {t("play")}
            </Button>
            <LikeButton track={track} withCount />
            <ShareButton url={shareUrl} />
            <AddToPlaylistMenu trackId={track.id} />
          </div>
        </div>
      </header>
      {track.status === "queued" || track.status === "processing" ? <Progress track={track} /> : null}
      {track.status === "failed" ? (
        <div role="alert" className="rounded-md border border-red-300 bg-red-50 p-3 text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100">
          <p className="font-medium">{t("status.failed")}</p>
          <p>{failure ?? t("failedNoReason")}</p>
        </div>
      ) : null}
      {track.stream ? <WaveformSlot track={track} access={access} /> : null}
      {track.stream ? <TrackComments track={{ ...track, access }} /> : null}
      <section aria-labelledby="figures">
        <h2 id="figures" className="mb-3 text-xl font-semibold">
          {t("analysis")}
        </h2>
        <Figures track={track} analysis={analysis.data} />
      </section>
      {track.description ? (
        <section aria-labelledby="about">
          <h2 id="about" className="mb-2 text-xl font-semibold">
            {t("about")}
          </h2>
          <p className="whitespace-pre-line">{track.description}</p>
        </section>
      ) : null}
      {owner ? (
        <section aria-labelledby="manage">
          <h2 id="manage" className="mb-3 text-xl font-semibold">
            {t("manage")}
          </h2>
          <Suspense fallback={<div className="h-10" />}>
            <OwnerControls track={track} />
          </Suspense>
        </section>
      ) : null}
    </article>
  );
}
