import { useRef, useState, type KeyboardEvent, type PointerEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { Button } from "@/components/Button";
import { cn } from "@/lib/cn";
import { formatDuration } from "@/lib/format";

import type { PlaylistItem } from "../api/playlists";

interface Props {
  items: PlaylistItem[];
  editable: boolean;
  onMove: (from: number, to: number) => void;
  onRemove: (item: PlaylistItem) => void;
  onPlay?: (index: number) => void;
}

/**
 * A playlist's tracks in order. The owner reorders them by dragging a row's handle (mouse or
 * touch), by the arrow keys on a focused handle, or with the Move up / Move down buttons.
 */
export function ReorderList({ items, editable, onMove, onRemove, onPlay }: Props) {
  const { t } = useTranslation("playlists");
  const [announcement, setAnnouncement] = useState("");
  const [dragging, setDragging] = useState<{ from: number; over: number } | null>(null);
  const listRef = useRef<HTMLOListElement>(null);

  const move = (from: number, to: number) => {
    if (to < 0 || to >= items.length || from === to) return;
    const item = items[from];
    onMove(from, to);
    if (item) setAnnouncement(t("moved", { title: item.track.title, position: to + 1, count: items.length }));
  };

  const onHandleKey = (index: number) => (event: KeyboardEvent) => {
    const target = { ArrowUp: index - 1, ArrowDown: index + 1, Home: 0, End: items.length - 1 }[event.key];
    if (target === undefined) return;
    event.preventDefault();
    move(index, target);
  };

  const rowAt = (y: number): number => {
    const rows = Array.from(listRef.current?.children ?? []) as HTMLElement[];
    for (let i = 0; i < rows.length; i++) {
      const box = rows[i]!.getBoundingClientRect();
      if (y < box.top + box.height / 2) return i;
    }
    return rows.length - 1;
  };

  const onPointerDown = (index: number) => (event: PointerEvent<HTMLButtonElement>) => {
    if (event.button !== 0) return;
    event.currentTarget.setPointerCapture(event.pointerId);
    setDragging({ from: index, over: index });
  };
  const onPointerMove = (event: PointerEvent) => {
    if (!dragging) return;
    const over = Math.max(0, Math.min(items.length - 1, rowAt(event.clientY)));
    if (over !== dragging.over) setDragging({ ...dragging, over });
  };
  const onPointerUp = () => {
    if (dragging) move(dragging.from, dragging.over);
    setDragging(null);
  };

  return (
    <>
      <ol ref={listRef} aria-label={t("tracks")} className="divide-y divide-zinc-200 rounded-md border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800">
        {items.map((item, index) => (
          <li
            key={item.id}
            className={cn(
              "flex items-center gap-2 px-2 py-2",
              dragging?.from === index && "opacity-60",
              dragging && dragging.over === index && dragging.from !== index && "bg-violet-50 dark:bg-violet-950",
            )}
          >
            {editable ? (
              <button
                type="button"
                aria-label={t("handle", { title: item.track.title, position: index + 1, count: items.length })}
                aria-describedby="reorder-help"
                className="flex h-10 w-8 shrink-0 cursor-grab touch-none items-center justify-center rounded text-lg text-zinc-600 hover:bg-zinc-100 dark:text-zinc-400 dark:hover:bg-zinc-800"
                onKeyDown={onHandleKey(index)}
                onPointerDown={onPointerDown(index)}
                onPointerMove={onPointerMove}
                onPointerUp={onPointerUp}
                onPointerCancel={() => setDragging(null)}
              >
                <span aria-hidden="true">⠿</span>
              </button>
            ) : null}
            <span className="w-6 shrink-0 text-right text-sm tabular-nums text-zinc-600 dark:text-zinc-400">{index + 1}</span>
            {onPlay ? (
              <Button variant="ghost" size="sm" aria-label={t("playNamed", { title: item.track.title })} onClick={() => onPlay(index)}>
                <span aria-hidden="true">▶</span>
              </Button>
            ) : null}
            <div className="min-w-0 flex-1">
              <Link to={`/tracks/${item.track.id}`} className="block truncate font-medium hover:underline">
                {item.track.title}
              </Link>
              <Link to={`/u/${encodeURIComponent(item.track.owner_handle)}`} className="block truncate text-sm text-zinc-600 hover:underline dark:text-zinc-400">
                {item.track.artist || item.track.owner_handle}
              </Link>
            </div>
            <span className="hidden text-sm tabular-nums text-zinc-600 sm:inline dark:text-zinc-400">{formatDuration(item.track.duration_s)}</span>
            {editable ? (
              <div className="flex shrink-0 gap-1">
                <Button variant="ghost" size="sm" aria-label={t("moveUp")} title={t("moveUp")} disabled={index === 0} onClick={() => move(index, index - 1)}>
                  <span aria-hidden="true">↑</span>
                </Button>
                <Button
                  variant="ghost"
                  size="sm"
                  aria-label={t("moveDown")}
                  title={t("moveDown")}
                  disabled={index === items.length - 1}
                  onClick={() => move(index, index + 1)}
                >
                  <span aria-hidden="true">↓</span>
                </Button>
                <Button variant="ghost" size="sm" aria-label={t("remove", { title: item.track.title })} onClick={() => onRemove(item)}>
                  <span aria-hidden="true">✕</span>
                </Button>
              </div>
            ) : null}
          </li>
        ))}
      </ol>
      {editable ? (
        <p id="reorder-help" className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
          {t("reorderHelp")}
        </p>
      ) : null}
      <p role="status" aria-live="polite" className="sr-only">
        {announcement}
      </p>
    </>
  );
}
