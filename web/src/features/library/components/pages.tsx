import { useQueries, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";

import { Button, buttonClass } from "@/components/Button";
import { ErrorMessage, Loading } from "@/components/Feedback";
import { toast } from "@/components/Toast";
import { useCurrentUser } from "@/features/auth";
import { MessageButton } from "@/features/chat";
import { useTrackEvent } from "@/features/socket";
import { ApiError } from "@/lib/api";
import { useTitle } from "@/lib/useTitle";
import { formatCount, formatDate } from "@/lib/format";

import { fetchStats, libraryKeys, type TrackSummary } from "../api/library";
import { useFollow, useHistory, useLikes, useOwnerTracks, useProfile } from "../hooks/useLibrary";
import { StatusBadge, TrackList } from "./bits";

const page = "flex flex-col gap-4 p-4 sm:p-8";

export function ArtistPage() {
  const { t, i18n } = useTranslation("library");
  const { handle = "" } = useParams();
  const user = useCurrentUser();
  const profile = useProfile(handle);
  const tracks = useOwnerTracks(handle);
  const follow = useFollow(handle);
  useTitle(profile.data ? profile.data.display_name || profile.data.handle : null);
  if (profile.isPending) return <Loading />;
  if (profile.error) {
    const notFound = profile.error instanceof ApiError && profile.error.status === 404;
    return (
      <section className={page}>
        <h1 className="text-2xl font-semibold">{notFound ? t("artist.notFound") : t("failed")}</h1>
        {notFound ? null : <ErrorMessage error={profile.error} />}
      </section>
    );
  }
  const p = profile.data;
  const me = user?.handle === p.handle;
  const onFollow = () =>
    follow.mutate(!p.followed_by_me, { onError: (e) => toast(e instanceof ApiError ? e.message : t("failed")) });
  return (
    <section className={page}>
      <header className="flex flex-wrap items-center gap-4">
        <div aria-hidden="true" className="flex h-20 w-20 items-center justify-center rounded-full bg-violet-700 text-3xl font-bold uppercase text-white">
          {(p.display_name || p.handle).slice(0, 1)}
        </div>
        <div className="min-w-0 flex-1">
          <h1 className="break-words text-2xl font-semibold">{p.display_name || p.handle}</h1>
          <p className="text-zinc-600 dark:text-zinc-400">@{p.handle}</p>
          <p className="mt-1 text-sm">
            {t("artist.followers", { count: p.followers, formatted: formatCount(p.followers, i18n.language) })} ·{" "}
            {t("artist.tracks", { count: p.public_tracks, formatted: formatCount(p.public_tracks, i18n.language) })}
          </p>
        </div>
        {user && !me ? (
          <Button variant={p.followed_by_me ? "secondary" : "primary"} aria-pressed={p.followed_by_me} onClick={onFollow} disabled={follow.isPending}>
            {p.followed_by_me ? t("artist.following") : t("artist.follow")}
          </Button>
        ) : null}
        {user && !me ? <MessageButton userId={p.id} handle={p.handle} className={buttonClass("secondary")} /> : null}
        {!user ? (
          <Link className={buttonClass("primary")} to={`/login?next=${encodeURIComponent(`/u/${p.handle}`)}`}>
            {t("artist.follow")}
          </Link>
        ) : null}
      </header>
      {p.bio ? <p className="whitespace-pre-line">{p.bio}</p> : null}
      <h2 className="text-xl font-semibold">{t("artist.trackList")}</h2>
      {tracks.isPending ? <Loading /> : null}
      <ErrorMessage error={tracks.error} />
      {tracks.data ? <TrackList tracks={tracks.data.items} showStatus={me} empty={t("artist.noTracks")} /> : null}
    </section>
  );
}

export function HistoryPage() {
  const { t, i18n } = useTranslation("library");
  useTitle(t("history.title"));
  const history = useHistory();
  const items = history.data?.items ?? [];
  return (
    <section className={page}>
      <h1 className="text-2xl font-semibold">{t("history.title")}</h1>
      {history.isPending ? <Loading /> : null}
      <ErrorMessage error={history.error} />
      {history.data ? (
        <TrackList
          tracks={items.map((item) => item.track)}
          empty={t("history.empty")}
          extra={(track) => {
            const item = items.find((i) => i.track === track);
            return (
              <span className="hidden text-sm text-zinc-600 md:inline dark:text-zinc-400">
                {item ? formatDate(item.started_at, i18n.language) : null}
              </span>
            );
          }}
        />
      ) : null}
    </section>
  );
}

export function LikesPage() {
  const { t } = useTranslation("library");
  const likes = useLikes();
  useTitle(t("likes.title"));
  return (
    <section className={page}>
      <h1 className="text-2xl font-semibold">{t("likes.title")}</h1>
      {likes.isPending ? <Loading /> : null}
      <ErrorMessage error={likes.error} />
      {likes.data ? <TrackList tracks={likes.data.items} empty={t("likes.empty")} /> : null}
    </section>
  );
}

function useTrackStats(tracks: TrackSummary[]) {
  return useQueries({
    queries: tracks.map((track) => ({
      queryKey: libraryKeys.stats(track.id),
      queryFn: () => fetchStats(track.id),
    })),
  });
}

/** The dashboard table's column headings: the label's key and the cell's classes. */
const dashboardColumns = [
  ["dashboard.track", "px-3 py-2 font-medium"],
  ["dashboard.status", "px-3 py-2 font-medium"],
  ["fig.plays", "px-3 py-2 text-right font-medium"],
  ["dashboard.listeners", "hidden px-3 py-2 text-right font-medium sm:table-cell"],
  ["fig.likes", "px-3 py-2 text-right font-medium"],
] as const;

/**
 * A track's status as the pipeline reports it live (its progress while processing); when the
 * track is done, the list is fetched again so its other figures follow.
 */
function LiveStatus({ track, handle }: { track: TrackSummary; handle: string }) {
  const { t } = useTranslation("library");
  const event = useTrackEvent(track.id);
  const queryClient = useQueryClient();
  const done = event && event.type !== "track.progress" ? event.type : null;
  useEffect(() => {
    if (done) void queryClient.invalidateQueries({ queryKey: libraryKeys.byOwner(handle) });
  }, [done, handle, queryClient]);
  if (event?.type === "track.progress" && track.status !== "ready" && track.status !== "failed") {
    return <StatusBadge status="processing" detail={t("status.percent", { value: Math.round(event.progress) })} />;
  }
  const status = event?.type === "track.ready" ? "ready" : event?.type === "track.failed" ? "failed" : track.status;
  return status === "ready" ? <>{t("status.ready")}</> : <StatusBadge status={status} />;
}

export function DashboardPage() {
  const { t, i18n } = useTranslation("library");
  const user = useCurrentUser();
  useTitle(t("dashboard.title"));
  const tracks = useOwnerTracks(user?.handle ?? "", true);
  const items = tracks.data?.items ?? [];
  const stats = useTrackStats(items);
  const lang = i18n.language;
  const total = items.reduce((sum, track) => sum + (track.plays ?? 0), 0);
  return (
    <section className={page}>
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h1 className="text-2xl font-semibold">{t("dashboard.title")}</h1>
          <p className="text-zinc-600 dark:text-zinc-400">
            {t("dashboard.summary", { count: items.length, plays: formatCount(total, lang) })}
          </p>
        </div>
        <Link to="/upload" className={buttonClass("primary")}>
          {t("dashboard.upload")}
        </Link>
      </div>
      {tracks.isPending ? <Loading /> : null}
      <ErrorMessage error={tracks.error} />
      {tracks.data ? (
        items.length === 0 ? (
          <p className="rounded-md border border-dashed border-zinc-300 p-6 text-center dark:border-zinc-700">
            {t("dashboard.empty")}{" "}
            <Link to="/upload" className="text-violet-700 underline dark:text-violet-300">
              {t("dashboard.upload")}
            </Link>
          </p>
        ) : (
          <div className="overflow-x-auto rounded-md border border-zinc-200 dark:border-zinc-800">
            <table className="w-full text-left text-sm">
              <caption className="sr-only">{t("dashboard.caption")}</caption>
              <thead className="bg-zinc-50 text-zinc-700 dark:bg-zinc-900 dark:text-zinc-300">
                <tr>
                  {dashboardColumns.map(([key, className]) => (
                    <th key={key} scope="col" className={className}>
                      {t(key)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
                {items.map((track, index) => {
                  const s = stats[index]?.data;
                  return (
                    <tr key={track.id}>
                      <th scope="row" className="max-w-48 truncate px-3 py-2 font-medium sm:max-w-none">
                        <Link to={`/tracks/${track.id}`} className="hover:underline">
                          {track.title}
                        </Link>
                      </th>
                      <td className="px-3 py-2">
                        <LiveStatus track={track} handle={user?.handle ?? ""} />
                      </td>
                      <td className="px-3 py-2 text-right tabular-nums">{formatCount(track.plays, lang)}</td>
                      <td className="hidden px-3 py-2 text-right tabular-nums sm:table-cell">{formatCount(s?.unique_listeners, lang)}</td>
                      <td className="px-3 py-2 text-right tabular-nums">{formatCount(track.likes, lang)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )
      ) : null}
    </section>
  );
}
