import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from "react";
import { useTranslation } from "react-i18next";

import { usePlayer } from "../store";
import type { PlayableTrack } from "../types";
import { CloseIcon, HandleIcon } from "./icons";
import { NormaliseSwitch, RepeatButton, ShuffleButton, VolumeControl } from "./controls";

export const ROW_HEIGHT = 48;

const byline = (track: PlayableTrack) => track.artist || track.owner_handle || "";
const entryLabel = (track: PlayableTrack) => (byline(track) ? `${track.title} · ${byline(track)}` : track.title);

interface Drag {
  from: number;
  to: number;
  pointerId: number;
}

/**
 * The queue: only the rows in view are in the DOM (a queue of 5,000 stays instant). A row's
 * handle reorders it: drag it (mouse or touch; dragging elsewhere scrolls), or focus it and
 * press ↑/↓ (Home/End: to the top/bottom).
 */
export function QueuePanel({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation("player");
  const queue = usePlayer((s) => s.queue);
  const index = usePlayer((s) => s.index);
  const { remove, move, clear, jump } = usePlayer.getState();
  const scrollRef = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<Drag | null>(null);
  const [announcement, setAnnouncement] = useState("");
  const [focusKey, setFocusKey] = useState<string | null>(null);

  const virtualizer = useVirtualizer({
    count: queue.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 6,
    getItemKey: (i) => queue[i]?.key ?? i,
    initialRect: { width: 360, height: 6 * ROW_HEIGHT },
  });

  const rows = virtualizer.getVirtualItems();

  // After a keyboard move, keep the focus on the moved row's handle (once its row is rendered).
  useEffect(() => {
    if (!focusKey) return;
    const handle = scrollRef.current?.querySelector<HTMLElement>(`[data-handle="${focusKey}"]`);
    if (handle) {
      handle.focus();
      setFocusKey(null);
    }
  }, [focusKey, queue, rows]);

  const moveTo = (from: number, to: number) => {
    const target = Math.max(0, Math.min(queue.length - 1, to));
    const moved = queue[from];
    if (!moved || target === from) return;
    move(from, target);
    setAnnouncement(t("moved", { title: moved.track.title, position: target + 1, count: queue.length }));
    virtualizer.scrollToIndex(target);
    setFocusKey(moved.key);
  };

  const onHandleKey = (i: number) => (event: KeyboardEvent) => {
    const to = { ArrowUp: i - 1, ArrowDown: i + 1, Home: 0, End: queue.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    event.stopPropagation();
    moveTo(i, to);
  };

  const rowAt = (clientY: number) => {
    const box = scrollRef.current?.getBoundingClientRect();
    const top = (box?.top ?? 0) - (scrollRef.current?.scrollTop ?? 0);
    return Math.max(0, Math.min(queue.length - 1, Math.floor((clientY - top) / ROW_HEIGHT)));
  };

  const onHandleDown = (i: number) => (event: PointerEvent) => {
    event.preventDefault();
    (event.currentTarget as Element).setPointerCapture?.(event.pointerId);
    setDrag({ from: i, to: i, pointerId: event.pointerId });
  };
  const onHandleMove = (event: PointerEvent) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    const to = rowAt(event.clientY);
    if (to !== drag.to) setDrag({ ...drag, to });
  };
  const onHandleUp = (event: PointerEvent) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    const { from, to } = drag;
    setDrag(null);
    if (from !== to) {
      const moved = queue[from];
      move(from, to);
      if (moved) setAnnouncement(t("moved", { title: moved.track.title, position: to + 1, count: queue.length }));
    }
  };

  return (
    <section
      id="player-queue"
      onKeyDown={(event) => {
        if (event.key === "Escape") onClose();
      }}
      aria-labelledby="player-queue-title"
      className="mx-auto mb-2 max-w-6xl rounded-lg border border-zinc-200 bg-white shadow-lg dark:border-zinc-800 dark:bg-zinc-900"
    >
      <header className="flex items-center gap-2 border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
        <h2 id="player-queue-title" className="font-semibold">
          {t("queue")} <span className="text-sm font-normal text-zinc-600 dark:text-zinc-400">{t("queueCount", { count: queue.length })}</span>
        </h2>
        <div className="ml-auto flex items-center gap-1">
          <button
            type="button"
            className="rounded px-2 py-1 text-sm text-zinc-700 hover:bg-zinc-200 disabled:opacity-40 dark:text-zinc-200 dark:hover:bg-zinc-800"
            onClick={clear}
            disabled={queue.length === 0}
          >
            {t("clearQueue")}
          </button>
          <button
            type="button"
            className="inline-flex h-8 w-8 items-center justify-center rounded-full hover:bg-zinc-200 dark:hover:bg-zinc-800"
            aria-label={t("closeQueue")}
            onClick={onClose}
          >
            <CloseIcon />
          </button>
        </div>
      </header>
      {/* What the bar has no room for on a narrow screen. */}
      <div className="flex items-center gap-2 border-b border-zinc-200 px-3 py-1 dark:border-zinc-800 md:hidden">
        <ShuffleButton className="sm:hidden" />
        <RepeatButton className="sm:hidden" />
        <NormaliseSwitch className="flex" />
        <VolumeControl className="ml-auto sm:hidden" />
      </div>
      <p className="sr-only" aria-live="polite">
        {announcement}
      </p>
      {queue.length === 0 ? (
        <p className="px-3 py-4 text-sm text-zinc-600 dark:text-zinc-400">{t("emptyQueue")}</p>
      ) : (
        <div ref={scrollRef} className="max-h-72 overflow-y-auto overscroll-contain" data-testid="queue-scroll">
          <ol aria-label={t("queue")} className="relative" style={{ height: virtualizer.getTotalSize() }}>
            {rows.map((row) => {
              const item = queue[row.index]!;
              const current = row.index === index;
              const dropHere = drag && drag.to === row.index && drag.from !== row.index;
              return (
                <li
                  key={row.key}
                  aria-current={current ? "true" : undefined}
                  aria-posinset={row.index + 1}
                  aria-setsize={queue.length}
                  className={`absolute left-0 top-0 flex w-full items-center gap-2 px-2 ${
                    current ? "bg-violet-50 dark:bg-violet-950/50" : ""
                  } ${dropHere ? (drag.to < drag.from ? "border-t-2" : "border-b-2") + " border-violet-600" : ""} ${
                    drag?.from === row.index ? "opacity-60" : ""
                  }`}
                  style={{ height: ROW_HEIGHT, transform: `translateY(${row.start}px)` }}
                >
                  <button
                    type="button"
                    data-handle={item.key}
                    className="inline-flex h-9 w-9 shrink-0 cursor-grab touch-none items-center justify-center rounded text-zinc-600 hover:bg-zinc-200 dark:text-zinc-400 dark:hover:bg-zinc-800"
                    aria-label={t("moveHandle", { title: item.track.title })}
                    aria-describedby="player-queue-help"
                    onKeyDown={onHandleKey(row.index)}
                    onPointerDown={onHandleDown(row.index)}
                    onPointerMove={onHandleMove}
                    onPointerUp={onHandleUp}
                    onPointerCancel={() => setDrag(null)}
                  >
                    <HandleIcon />
                  </button>
                  <button
                    type="button"
                    className="min-w-0 flex-1 truncate text-left text-sm hover:underline"
                    // The name holds the visible text (title · artist) after the verb.
                    aria-label={t("playEntry", { label: entryLabel(item.track) })}
                    onClick={() => jump(row.index)}
                  >
                    <span className={current ? "font-semibold" : ""}>{item.track.title}</span>
                    {byline(item.track) && <span className="text-zinc-600 dark:text-zinc-400"> · {byline(item.track)}</span>}
                  </button>
                  <button
                    type="button"
                    className="inline-flex h-8 w-8 shrink-0 items-center justify-center rounded-full text-zinc-600 hover:bg-zinc-200 dark:text-zinc-400 dark:hover:bg-zinc-800"
                    aria-label={t("removeEntry", { title: item.track.title })}
                    onClick={() => remove(item.key)}
                  >
                    <CloseIcon />
                  </button>
                </li>
              );
            })}
          </ol>
        </div>
      )}
      <p id="player-queue-help" className="sr-only">
        {t("moveHelp")}
      </p>
    </section>
  );
}
