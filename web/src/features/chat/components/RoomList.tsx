import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/Button";
import { Modal } from "@/components/Dialog";
import { SelectField, TextField } from "@/components/Field";
import { cn } from "@/lib/cn";

import { errorText } from "../errors";
import { roomTitle, type RoomState } from "../model";
import * as chat from "../service";
import { sortedRooms, useChat } from "../store";
import { Badge, PresenceDot } from "./bits";

/** The room id in a room link (…/chat?room=ID) or the id itself; null when it is neither. */
export function roomIdOf(text: string): string | null {
  const value = text.trim();
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (uuid.test(value)) return value.toLowerCase();
  try {
    const room = new URL(value).searchParams.get("room");
    return room && uuid.test(room) ? room.toLowerCase() : null;
  } catch {
    return null;
  }
}

function NewRoom({ open, onOpenChange, onOpened }: { open: boolean; onOpenChange: (open: boolean) => void; onOpened: (id: string) => void }) {
  const { t, i18n } = useTranslation("chat");
  const [name, setName] = useState("");
  const [topic, setTopic] = useState("");
  const [kind, setKind] = useState<"public" | "private">("public");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) {
      setError(t("newRoom.nameRequired"));
      return;
    }
    setBusy(true);
    try {
      const room = await chat.createRoom(name.trim(), kind, topic.trim() || undefined);
      onOpenChange(false);
      setName("");
      setTopic("");
      onOpened(room.id);
    } catch (e) {
      setError(errorText(t, e, i18n.language));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal open={open} onOpenChange={onOpenChange} title={t("newRoom.title")}>
      <form onSubmit={submit} className="space-y-3" noValidate>
        <TextField id="chat-room-name" label={t("newRoom.name")} value={name} maxLength={100} onChange={(e) => setName(e.target.value)} error={error} />
        <TextField id="chat-room-topic" label={t("newRoom.topic")} value={topic} maxLength={300} onChange={(e) => setTopic(e.target.value)} />
        <SelectField label={t("newRoom.kind")} value={kind} onChange={(e) => setKind(e.target.value as "public" | "private")}>
          <option value="public">{t("newRoom.public")}</option>
          <option value="private">{t("newRoom.private")}</option>
        </SelectField>
        <Button type="submit" disabled={busy}>
          {t("newRoom.create")}
        </Button>
      </form>
    </Modal>
  );
}

function JoinRoom({ open, onOpenChange, onOpened }: { open: boolean; onOpenChange: (open: boolean) => void; onOpened: (id: string) => void }) {
  const { t, i18n } = useTranslation("chat");
  const [text, setText] = useState("");
  const [error, setError] = useState<string | undefined>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const id = roomIdOf(text);
    if (!id) {
      setError(t("joinRoom.bad"));
      return;
    }
    try {
      await chat.joinRoom({ room_id: id });
      onOpenChange(false);
      setText("");
      onOpened(id);
    } catch (e) {
      setError(errorText(t, e, i18n.language));
    }
  };
  return (
    <Modal open={open} onOpenChange={onOpenChange} title={t("joinRoom.title")} description={t("joinRoom.description")}>
      <form onSubmit={submit} className="space-y-3" noValidate>
        <TextField id="chat-join" label={t("joinRoom.link")} value={text} onChange={(e) => setText(e.target.value)} error={error} />
        <Button type="submit">{t("joinRoom.join")}</Button>
      </form>
    </Modal>
  );
}

function RoomButton({ room, myId, onOpen }: { room: RoomState; myId: string | null; onOpen: (id: string) => void }) {
  const { t } = useTranslation("chat");
  const presence = useChat((s) => s.presence);
  const title = roomTitle(room, myId) ?? t("room.untitled");
  const other = room.info.kind === "direct" ? Object.keys(room.members).find((id) => id !== myId) : undefined;
  const parts = [title];
  if (room.unread) parts.push(t("list.unread", { count: room.unread }));
  if (room.mentions) parts.push(t("list.mentions", { count: room.mentions }));
  if (room.gone) parts.push(t(`list.${room.gone}`));
  return (
    <button
      type="button"
      onClick={() => onOpen(room.info.id)}
      aria-label={parts.join(", ")}
      className={cn("flex w-full items-center gap-2 rounded-md px-3 py-2 text-left text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800", room.unread > 0 && "font-semibold")}
    >
      {other ? <PresenceDot state={presence[other] ?? "offline"} /> : <span aria-hidden="true">#</span>}
      <span className="min-w-0 flex-1 truncate">{title}</span>
      <Badge count={room.mentions} mention />
      <Badge count={room.unread} />
    </button>
  );
}

/** The user's rooms and direct messages, with what is unread; making and joining rooms. */
export function RoomList({ onOpen }: { onOpen: (id: string) => void }) {
  const { t } = useTranslation("chat");
  const rooms = useChat((s) => s.rooms);
  const myId = useChat((s) => s.me?.id ?? null);
  const [dialog, setDialog] = useState<"new" | "join" | null>(null);
  // A track's room belongs to its track's page (its comments), not to this list.
  const all = sortedRooms(rooms).filter((r) => r.info.kind !== "track");
  const groups = [
    { key: "rooms", label: t("list.rooms"), items: all.filter((r) => r.info.kind !== "direct") },
    { key: "direct", label: t("list.direct"), items: all.filter((r) => r.info.kind === "direct") },
  ];
  return (
    <div className="min-h-0 flex-1 overflow-y-auto px-1 py-2">
      <div className="flex gap-2 px-2 pb-2">
        <Button size="sm" onClick={() => setDialog("new")}>
          {t("list.newRoom")}
        </Button>
        <Button size="sm" variant="secondary" onClick={() => setDialog("join")}>
          {t("list.joinRoom")}
        </Button>
      </div>
      {groups.map((group) => (
        <section key={group.key} aria-labelledby={`chat-list-${group.key}`} className="mb-3">
          <h3 id={`chat-list-${group.key}`} className="px-3 py-1 text-xs font-semibold uppercase text-zinc-600 dark:text-zinc-400">
            {group.label}
          </h3>
          {group.items.length ? (
            <ul>
              {group.items.map((room) => (
                <li key={room.info.id}>
                  <RoomButton room={room} myId={myId} onOpen={onOpen} />
                </li>
              ))}
            </ul>
          ) : (
            <p className="px-3 text-sm text-zinc-600 dark:text-zinc-400">{group.key === "rooms" ? t("list.noRooms") : t("list.noDirect")}</p>
          )}
        </section>
      ))}
      <NewRoom open={dialog === "new"} onOpenChange={(open) => setDialog(open ? "new" : null)} onOpened={onOpen} />
      <JoinRoom open={dialog === "join"} onOpenChange={(open) => setDialog(open ? "join" : null)} onOpened={onOpen} />
    </div>
  );
}
