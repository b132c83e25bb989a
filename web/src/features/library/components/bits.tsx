import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router-dom";

import { Button } from "@/components/Button";
import { Empty } from "@/components/Feedback";
import { toast } from "@/components/Toast";
import { useCurrentUser } from "@/features/auth";
import { AddToPlaylistMenu } from "@/features/playlists";
import { ApiError } from "@/lib/api";
import { cn } from "@/lib/cn";
import { formatDuration } from "@/lib/format";

import { coverUrl, type TrackSummary } from "../api/library";
import { useLike, useLikes } from "../hooks/useLibrary";
import { usePlay } from "../hooks/usePlay";

/** The track's cover art, or a plain square when it has none (`cover` null: not even asked for). */
export function Cover({ id, size = "lg", alt, cover }: { id: string; size?: "sm" | "lg"; alt: string; cover?: string | null | undefined }) {
  const [failed, setFailed] = useState(false);
  const missing = failed || cover === null;
  const box = size === "lg" ? "h-40 w-40 sm:h-56 sm:w-56" : "h-10 w-10";
  if (missing) {
    return (
      <div aria-hidden="true" className={cn(box, "flex shrink-0 items-center justify-center rounded-md bg-gradient-to-br from-violet-700 to-zinc-900 text-white")}>
        <span className={size === "lg" ? "text-5xl" : "text-base"}>♪</span>
      </div>
    );
  }
  return <img src={coverUrl(id)} alt={alt} onError={() => setFailed(true)} className={cn(box, "shrink-0 rounded-md object-cover")} loading="lazy" />;
}

export function StatusBadge({ status, detail }: { status?: string | undefined; detail?: string }) {
  const { t } = useTranslation("library");
  if (!status || status === "ready") return null;
  const colour =
    status === "failed"
      ? "bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-100"
      : "bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-100";
  const label = t(`status.${status}`, { defaultValue: status });
  return <span className={cn("rounded px-2 py-0.5 text-xs font-medium", colour)}>{detail ? `${label} · ${detail}` : label}</span>;
}

/** Whether I like the track: the track's own field when the API gives it, else my likes list. */
export function useLiked(track: { id: string; liked_by_me?: boolean | null | undefined }): boolean {
  const likes = useLikes();
  if (track.liked_by_me != null) return track.liked_by_me;
  return (likes.data?.items ?? []).some((item) => item.id === track.id);
}

export function LikeButton({ track, withCount = false }: { track: { id: string; liked_by_me?: boolean | null | undefined; likes?: number | undefined }; withCount?: boolean }) {
  const { t, i18n } = useTranslation("library");
  const user = useCurrentUser();
  const navigate = useNavigate();
  const liked = useLiked(track);
  const like = useLike(track.id);
  const now = like.data?.liked ?? liked;
  const count = like.data?.likes ?? track.likes;
  const onClick = () => {
    if (!user) {
      navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
      return;
    }
    like.mutate(!now, { onError: (e) => toast(e instanceof ApiError ? e.message : t("failed")) });
  };
  return (
    <Button variant="secondary" aria-pressed={now} onClick={onClick} disabled={like.isPending}>
      <span aria-hidden="true" className={now ? "text-red-700 dark:text-red-400" : undefined}>
        {now ? "♥" : "♡"}
      </span>
      {t("like")}
      {withCount && count !== undefined ? (
        <span className="tabular-nums text-zinc-600 dark:text-zinc-400">
          <span className="sr-only">, </span>
          {new Intl.NumberFormat(i18n.language).format(count)}
        </span>
      ) : null}
    </Button>
  );
}

/** Copy the track's link; the toast says it is done. */
export function ShareButton({ url }: { url: string }) {
  const { t } = useTranslation("library");
  const onClick = async () => {
    try {
      await navigator.clipboard.writeText(url);
      toast(t("copied"));
    } catch {
      toast(t("copyFailed", { url }));
    }
  };
  return (
    <Button variant="secondary" onClick={() => void onClick()}>
      <span aria-hidden="true">↗</span>
      {t("share")}
    </Button>
  );
}

export function trackLink(id: string): string {
  return `${window.location.origin}/tracks/${id}`;
}

interface ListProps {
  tracks: TrackSummary[];
  empty?: string;
  /** Extra cells at the end of each row (the dashboard's counts). */
  extra?: (track: TrackSummary) => React.ReactNode;
  showStatus?: boolean;
}

/** Tracks as rows: play, title and artist, duration, add to playlist. */
export function TrackList({ tracks, empty, extra, showStatus = false }: ListProps) {
  const { t } = useTranslation("library");
  const play = usePlay();
  const playable = tracks.filter((track) => !track.status || track.status === "ready");
  if (tracks.length === 0) return <Empty>{empty ?? t("noTracks")}</Empty>;
  return (
    <ul className="divide-y divide-zinc-200 rounded-md border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800">
      {tracks.map((track) => {
        const index = playable.indexOf(track);
        return (
          <li key={track.id} className="flex items-center gap-2 px-2 py-2 sm:gap-3 sm:px-3">
            <Button
              variant="ghost"
              size="icon"
              aria-label={t("playNamed", { title: track.title })}
              disabled={!play || index < 0}
              onClick={() => play?.(playable, index)}
            >
              <span aria-hidden="true">▶</span>
            </Button>
            <Cover id={track.id} size="sm" alt="" cover={track.cover_url} />
            <div className="min-w-0 flex-1">
              <Link to={`/tracks/${track.id}`} className="block min-h-6 truncate font-medium leading-6 hover:underline">
                {track.title}
              </Link>
              <Link to={`/u/${encodeURIComponent(track.owner_handle)}`} className="block min-h-6 truncate text-sm leading-6 text-zinc-600 hover:underline dark:text-zinc-400">
                {track.artist || track.owner_handle}
              </Link>
            </div>
            {showStatus ? <StatusBadge status={track.status} /> : null}
            {extra?.(track)}
            <span className="hidden w-12 text-right text-sm tabular-nums text-zinc-600 sm:inline dark:text-zinc-400">{formatDuration(track.duration_s)}</span>
            <AddToPlaylistMenu trackId={track.id} trackTitle={track.title} compact />
          </li>
        );
      })}
    </ul>
  );
}
