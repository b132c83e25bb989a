import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { formatTime, usePlayer } from "@/features/player";

import { commentAt, groupMarkers, type Comment, type MarkerGroup } from "../model";
import { useComments } from "../store";

const MARKER_PX = 18;

function label(t: (key: string, options?: Record<string, unknown>) => string, group: MarkerGroup): string {
  const time = formatTime(group.ms / 1000);
  if (group.comments.length === 1) {
    const c = group.comments[0]!;
    return t("marker.one", { handle: c.author?.handle ?? "?", time, body: c.body });
  }
  const handles = [...new Set(group.comments.map((c) => `@${c.author?.handle ?? "?"}`))].join(", ");
  return t("marker.many", { count: group.comments.length, time, handles });
}

function Bubble({ comment }: { comment: Comment }) {
  return (
    <span className="block max-w-64 truncate">
      <span className="font-medium">@{comment.author?.handle ?? "?"}</span> <span>{comment.body}</span>
    </span>
  );
}

/**
 * The comments pinned on a track, as a strip of markers under its waveform: grouped where they
 * crowd, each shows its comments on hover or focus and seeks there when clicked. While the track
 * plays, the comment at the playhead shows above its marker.
 */
export function CommentMarkers({ trackId, durationS, seekTo }: { trackId: string; durationS: number; seekTo: (seconds: number) => void }) {
  const { t } = useTranslation("comments");
  const comments = useComments((s) => s[trackId]?.comments);
  const position = usePlayer((s) => (s.playing && s.queue[s.index]?.track.id === trackId ? s.position : null));
  const boxRef = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);

  useEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    const measure = () => setWidth(box.clientWidth);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(box);
    return () => observer.disconnect();
  }, []);

  const groups = comments ? groupMarkers(comments, durationS * 1000, width, MARKER_PX) : [];
  const now = comments && position !== null ? commentAt(comments, position * 1000) : null;
  const nowGroup = now ? groups.find((g) => g.comments.includes(now)) : undefined;

  return (
    <div ref={boxRef} className="relative mt-1 h-6 w-full">
      {groups.length > 0 ? (
        <ul aria-label={t("markers")} className="contents">
          {groups.map((group) => {
            const first = group.comments[0]!;
            const many = group.comments.length > 1;
            return (
              <li key={first.id} className="group absolute top-0 -translate-x-1/2" style={{ left: `${group.x * 100}%` }}>
                <button
                  type="button"
                  aria-label={label(t, group)}
                  onClick={() => seekTo(group.ms / 1000)}
                  className={`flex h-5 min-w-5 items-center justify-center rounded-full px-1 text-[11px] font-semibold leading-none text-white ring-2 ring-white hover:bg-violet-900 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-violet-700 dark:ring-zinc-950 ${nowGroup === group ? "bg-violet-900 dark:bg-violet-500" : "bg-violet-700"}`}
                >
                  <span aria-hidden="true">{many ? group.comments.length : (first.author?.handle ?? "?").slice(0, 1).toUpperCase()}</span>
                </button>
                <div
                  aria-hidden="true"
                  className={`pointer-events-none absolute bottom-full left-1/2 z-10 mb-1 -translate-x-1/2 flex-col gap-0.5 rounded-md bg-zinc-900 px-2 py-1 text-xs text-white shadow dark:bg-zinc-100 dark:text-zinc-900 ${nowGroup === group ? "flex" : "hidden group-focus-within:flex group-hover:flex"}`}
                >
                  <span className="tabular-nums opacity-80">{formatTime(group.ms / 1000)}</span>
                  {(nowGroup === group && now ? [now] : group.comments.slice(0, 5)).map((c) => (
                    <Bubble key={c.id} comment={c} />
                  ))}
                  {nowGroup !== group && group.comments.length > 5 ? <span>{t("more", { count: group.comments.length - 5 })}</span> : null}
                </div>
              </li>
            );
          })}
        </ul>
      ) : null}
    </div>
  );
}
