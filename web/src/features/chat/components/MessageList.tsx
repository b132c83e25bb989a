import { useVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef } from "react";
import { useTranslation } from "react-i18next";

import { toast } from "@/components/Toast";

import { errorText } from "../errors";
import type { Line, RoomState } from "../model";
import * as chat from "../service";
import { MessageItem, type Viewer } from "./MessageItem";

const ESTIMATE = 64;
/** Closer than this to the top, the next older page is asked for. */
const NEAR_TOP_PX = 160;
const NEAR_BOTTOM_PX = 80;

/** A stable key through the ack: a message of the user is keyed by its client id. */
const keyOf = (line: Line, myId: string) => (line.author?.id === myId && line.cid ? `c:${line.cid}` : line.id);

interface Props {
  room: RoomState;
  title: string;
  viewer: Viewer;
  onReply: (line: Line) => void;
  onEdit: (line: Line) => void;
}

/**
 * A room's messages, newest at the bottom; only those in view are in the DOM (as the queue).
 * Scrolling near the top loads the next older page and keeps the reader where they were;
 * new messages scroll into view when the reader is at the bottom.
 */
export function MessageList({ room, title, viewer, onReply, onEdit }: Props) {
  const { t, i18n } = useTranslation("chat");
  const scrollRef = useRef<HTMLDivElement>(null);
  const lines = room.lines;
  const roomId = room.info.id;
  const atBottom = useRef(true);
  const previous = useRef<{ first: string | undefined; height: number; count: number }>({ first: undefined, height: 0, count: 0 });
  const byId = useMemo(() => new Map(lines.map((l) => [l.id, l])), [lines]);

  const virtualizer = useVirtualizer({
    count: lines.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ESTIMATE,
    overscan: 8,
    getItemKey: (i) => (lines[i] ? keyOf(lines[i], viewer.id) : i),
    initialRect: { width: 360, height: 480 },
  });

  const loadOlder = useCallback(() => {
    if (room.older === null || room.loadingOlder || room.older === undefined) return;
    chat.loadOlder(roomId).catch((error: unknown) => toast(errorText(t, error, i18n.language)));
  }, [room.older, room.loadingOlder, roomId, t, i18n.language]);

  // Older messages came in above: keep the reader on what they were reading.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    const before = previous.current;
    const first = lines[0]?.id;
    if (el) {
      if (before.first !== undefined && first !== before.first && lines.length > before.count && !atBottom.current) {
        el.scrollTop += el.scrollHeight - before.height;
      } else if (atBottom.current && lines.length) {
        virtualizer.scrollToIndex(lines.length - 1, { align: "end" });
      }
      previous.current = { first, height: el.scrollHeight, count: lines.length };
    }
  }, [lines, virtualizer]);

  // A first page that does not fill the view: ask for more at once.
  useEffect(() => {
    const el = scrollRef.current;
    if (el && el.scrollHeight <= el.clientHeight + NEAR_TOP_PX) loadOlder();
  }, [lines.length, loadOlder]);

  const onScroll = () => {
    const el = scrollRef.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    if (el.scrollTop < NEAR_TOP_PX) loadOlder();
  };

  const items = virtualizer.getVirtualItems();
  return (
    <div ref={scrollRef} onScroll={onScroll} className="min-h-0 flex-1 overflow-y-auto overscroll-contain" data-testid="chat-scroll">
      {room.loadingOlder ? (
        <p role="status" className="px-3 py-2 text-center text-xs text-zinc-600 dark:text-zinc-400">
          {t("room.loadingOlder")}
        </p>
      ) : room.older === null && lines.length ? (
        <p className="px-3 py-2 text-center text-xs text-zinc-600 dark:text-zinc-400">{t("room.start")}</p>
      ) : null}
      {lines.length === 0 && room.older === null ? <p className="px-3 py-6 text-center text-sm text-zinc-600 dark:text-zinc-400">{t("room.empty")}</p> : null}
      <div role="log" aria-label={t("room.messages", { room: title })} className="relative w-full" style={{ height: virtualizer.getTotalSize() }}>
        {items.map((item) => {
          const line = lines[item.index]!;
          return (
            <div
              key={item.key}
              data-index={item.index}
              ref={virtualizer.measureElement}
              className="absolute left-0 top-0 w-full"
              style={{ transform: `translateY(${item.start}px)` }}
            >
              <MessageItem
                line={line}
                replied={line.reply_to ? (byId.get(line.reply_to) ?? null) : null}
                viewer={viewer}
                authorRole={line.author ? (room.members[line.author.id]?.role ?? null) : null}
                onReply={onReply}
                onEdit={onEdit}
              />
            </div>
          );
        })}
      </div>
    </div>
  );
}
