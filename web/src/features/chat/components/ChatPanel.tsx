import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/Button";
import { useSocket } from "@/features/socket";

import { useChat } from "../store";
import * as chat from "../service";
import { RoomList } from "./RoomList";
import { RoomView } from "./RoomView";

const notifications = () => (typeof Notification === "undefined" ? null : Notification);

/** Ask for desktop notifications of mentions: only from this button, never on load. */
function NotifyButton() {
  const { t } = useTranslation("chat");
  const api = notifications();
  const [permission, setPermission] = useState(api?.permission ?? "denied");
  if (!api || permission !== "default") return null;
  return (
    <Button variant="ghost" size="sm" onClick={() => void api.requestPermission().then(setPermission)}>
      {t("panel.notify")}
    </Button>
  );
}

/** What the connection is doing, when it is not simply open (with messages still to send). */
function ConnectionLine() {
  const { t } = useTranslation("chat");
  const state = useSocket((s) => s.state);
  const rooms = useChat((s) => s.rooms);
  const pending = Object.values(rooms).reduce((n, r) => n + r.lines.filter((l) => l.status === "pending").length, 0);
  if (state === "open" && pending === 0) return null;
  const text =
    state === "reconnecting" ? t("panel.reconnecting") : state === "connecting" ? t("panel.connecting") : state === "closed" ? t("panel.offline") : "";
  return (
    <p role="status" className="border-b border-amber-300 bg-amber-50 px-3 py-1 text-xs text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
      {[text, pending ? t("panel.pending", { count: pending }) : ""].filter(Boolean).join(" ")}
    </p>
  );
}

/** The chat: the room list, or one room with a way back to the list. */
export function ChatPanel({ headingLevel = 2, onClose }: { headingLevel?: 1 | 2; onClose?: () => void }) {
  const { t } = useTranslation("chat");
  const active = useChat((s) => s.active);
  const room = useChat((s) => (s.active ? s.rooms[s.active] : undefined));
  const me = useChat((s) => s.me);
  const Heading = headingLevel === 1 ? "h1" : "h2";
  const root = useRef<HTMLDivElement>(null);
  const first = useRef(true);
  // Going into a room or back to the list removes what had the focus: give it to the new view.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const focused = document.activeElement;
    if (focused && focused !== document.body && root.current?.contains(focused)) return;
    const target = active
      ? root.current?.querySelector<HTMLElement>("textarea")
      : root.current?.querySelector<HTMLElement>("ul button");
    target?.focus();
  }, [active]);
  return (
    <div ref={root} className="flex h-full min-h-0 flex-col">
      <div className="flex items-center gap-1 border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
        <Heading className="flex-1 text-lg font-semibold">{t("panel.title")}</Heading>
        <NotifyButton />
        {onClose ? (
          <Button variant="ghost" size="sm" aria-label={t("panel.close")} onClick={onClose}>
            <span aria-hidden="true">✕</span>
          </Button>
        ) : null}
      </div>
      <ConnectionLine />
      {!me ? (
        <p className="px-3 py-4 text-sm text-zinc-600 dark:text-zinc-400">{t("panel.connectingFirst")}</p>
      ) : room && active ? (
        <RoomView room={room} onBack={() => chat.openRoom(null)} />
      ) : (
        <RoomList onOpen={(id) => chat.openRoom(id)} />
      )}
    </div>
  );
}
