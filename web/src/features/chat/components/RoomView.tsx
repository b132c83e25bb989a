import { useEffect, useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/Button";
import { inputClass } from "@/components/Field";
import { toast } from "@/components/Toast";
import { API, ApiError, request } from "@/lib/api";

import { errorText, formatWhen } from "../errors";
import { activeMute, roomTitle, typingHandles, type Line, type RoomState } from "../model";
import * as chat from "../service";
import { useChat } from "../store";
import { PresenceDot } from "./bits";
import { Composer } from "./Composer";
import { MemberMenu, type Viewer } from "./MessageItem";
import { MessageList } from "./MessageList";

/** Re-render every second while something (typing, a mute) runs out. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

function Invite({ roomId }: { roomId: string }) {
  const { t, i18n } = useTranslation("chat");
  const id = useId();
  const [handle, setHandle] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const name = handle.trim().replace(/^@/, "");
    if (!name) return;
    setBusy(true);
    try {
      const user = await request<{ id: string }>(`${API}/users/${encodeURIComponent(name)}`);
      await chat.invite(roomId, user.id);
      toast(t("members.invited", { handle: name }));
      setHandle("");
    } catch (error) {
      toast(error instanceof ApiError && error.status === 404 ? t("members.noSuchUser", { handle: name }) : errorText(t, error, i18n.language));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="mt-2 flex items-end gap-2">
      <div className="flex-1">
        <label htmlFor={id} className="block text-xs font-medium">
          {t("members.inviteLabel")}
        </label>
        <input id={id} value={handle} onChange={(e) => setHandle(e.target.value)} className={`${inputClass} h-8 text-sm`} autoComplete="off" />
      </div>
      <Button type="submit" size="sm" disabled={busy || !handle.trim()}>
        {t("members.invite")}
      </Button>
    </form>
  );
}

function Members({ room, viewer }: { room: RoomState; viewer: Viewer }) {
  const { t } = useTranslation("chat");
  const presence = useChat((s) => s.presence);
  const members = Object.entries(room.members).sort(([, a], [, b]) => a.handle.localeCompare(b.handle));
  const mayInvite = room.info.kind === "private" && (viewer.role === "owner" || viewer.role === "moderator");
  return (
    <section aria-label={t("members.title")} className="max-h-56 overflow-y-auto border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
      <ul className="space-y-1">
        {members.map(([id, m]) => (
          <li key={id} className="flex items-center gap-2">
            <PresenceDot state={presence[id] ?? "offline"} />
            <MemberMenu roomId={room.info.id} user={{ id, handle: m.handle }} role={m.role} viewer={viewer} label={t("member.menu", { handle: m.handle })}>
              @{m.handle}
            </MemberMenu>
            {m.role !== "member" ? <span className="text-xs text-zinc-600 dark:text-zinc-400">{t(`role.${m.role}`)}</span> : null}
            {activeMute(m.mutedUntil) ? <span className="text-xs text-zinc-600 dark:text-zinc-400">{t("members.mutedMark")}</span> : null}
          </li>
        ))}
      </ul>
      {mayInvite ? <Invite roomId={room.info.id} /> : null}
    </section>
  );
}

/** A room: who is in it, its messages, who is typing, and the field to write in. */
export function RoomView({ room, onBack }: { room: RoomState; onBack?: () => void }) {
  const { t, i18n } = useTranslation("chat");
  const me = useChat((s) => s.me)!;
  const presence = useChat((s) => s.presence);
  const [showMembers, setShowMembers] = useState(false);
  const [replyTo, setReplyTo] = useState<Line | null>(null);
  const [editing, setEditing] = useState<Line | null>(null);
  const roomId = room.info.id;
  const title = roomTitle(room, me.id) ?? t("room.untitled");
  const myMember = room.members[me.id];
  const viewer: Viewer = { id: me.id, handle: me.handle, role: myMember?.role ?? null };
  const typingSoon = Object.values(room.typing).some((until) => until > Date.now());
  const muteUntil = activeMute(myMember?.mutedUntil);
  const now = useNow(typingSoon || !!muteUntil);
  const typists = typingHandles(room, now);
  const online = Object.keys(room.members).filter((id) => (presence[id] ?? "offline") !== "offline").length;

  useEffect(() => {
    setReplyTo(null);
    setEditing(null);
  }, [roomId]);

  const blocked =
    room.gone === "banned"
      ? t("room.banned")
      : room.gone === "removed"
        ? t("room.removed")
        : muteUntil && Date.parse(muteUntil) > now
          ? t("room.muted", { until: formatWhen(muteUntil, i18n.language) })
          : null;

  const copyLink = () => {
    const link = `${location.origin}/chat?room=${roomId}`;
    void navigator.clipboard?.writeText(link).then(
      () => toast(t("room.linkCopied")),
      () => toast(link),
    );
  };

  return (
    <section aria-label={title} className="flex min-h-0 flex-1 flex-col">
      <header className="flex flex-wrap items-center gap-1 border-b border-zinc-200 px-2 py-1.5 dark:border-zinc-800">
        {onBack ? (
          <Button variant="ghost" size="sm" onClick={onBack} aria-label={t("room.back")}>
            <span aria-hidden="true">←</span>
          </Button>
        ) : null}
        <h3 className="min-w-0 flex-1 truncate font-semibold">
          {title}
          {room.info.kind === "private" ? <span className="ml-1 text-xs font-normal text-zinc-600 dark:text-zinc-400">{t("kind.private")}</span> : null}
        </h3>
        <Button variant="ghost" size="sm" aria-expanded={showMembers} onClick={() => setShowMembers(!showMembers)}>
          {t("room.people", { count: online })}
        </Button>
        {room.info.kind === "public" || room.info.kind === "private" ? (
          <Button variant="ghost" size="sm" onClick={copyLink}>
            {t("room.copyLink")}
          </Button>
        ) : null}
      </header>
      {room.info.topic ? <p className="border-b border-zinc-200 px-3 py-1 text-xs text-zinc-700 dark:border-zinc-800 dark:text-zinc-300">{room.info.topic}</p> : null}
      {showMembers ? <Members room={room} viewer={viewer} /> : null}
      <MessageList room={room} title={title} viewer={viewer} onReply={setReplyTo} onEdit={setEditing} />
      <p aria-live="polite" className="h-5 px-3 text-xs text-zinc-600 dark:text-zinc-400">
        {typists.length ? t("room.typing", { count: typists.length, names: typists.map((h) => `@${h}`).join(", ") }) : ""}
      </p>
      <Composer
        room={title}
        handles={Object.values(room.members)
          .map((m) => m.handle)
          .filter((h) => h !== me.handle)}
        blocked={blocked}
        onTyping={() => chat.typing(roomId)}
        editing={editing ? { body: editing.body ?? "", onCancel: () => setEditing(null) } : null}
        replyTo={replyTo ? { handle: replyTo.author?.handle ?? "", body: replyTo.body ?? "", onCancel: () => setReplyTo(null) } : null}
        onSubmit={(body) => {
          if (editing) {
            const id = editing.id;
            setEditing(null);
            chat.editMessage(id, body).catch((error: unknown) => toast(errorText(t, error, i18n.language)));
            return;
          }
          chat.sendMessage(roomId, body, { replyTo: replyTo?.id ?? null });
          setReplyTo(null);
        }}
      />
    </section>
  );
}
