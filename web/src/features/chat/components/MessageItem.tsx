import { Fragment, memo, type ReactNode } from "react";
import { useTranslation } from "react-i18next";

import { Menu, MenuContent, MenuItem, MenuLabel, MenuSeparator, MenuTrigger } from "@/components/Menu";
import { toast } from "@/components/Toast";
import { FrameError, type Role } from "@/features/socket";
import { cn } from "@/lib/cn";

import { errorText } from "../errors";
import { mentionsMe, type Line } from "../model";
import * as chat from "../service";
import { formatTime } from "./bits";

export const REACTIONS = ["👍", "❤️", "😂", "🎉", "🔥"];
const RANK: Record<Role, number> = { owner: 3, moderator: 2, member: 1 };

export interface Viewer {
  id: string;
  handle: string;
  role: Role | null;
}

/** The body with `@handle`s set apart (the user's own highlighted). */
function Body({ text, myHandle }: { text: string; myHandle: string }) {
  const parts = text.split(/(@[\w-]+)/g);
  return (
    <p className="whitespace-pre-wrap break-words text-sm">
      {parts.map((part, i) =>
        part.startsWith("@") ? (
          <strong
            key={i}
            className={cn(
              "font-semibold text-violet-800 dark:text-violet-300",
              part.slice(1).toLowerCase() === myHandle.toLowerCase() && "rounded bg-amber-200 px-0.5 text-amber-950 dark:bg-amber-700 dark:text-white",
            )}
          >
            {part}
          </strong>
        ) : (
          <Fragment key={i}>{part}</Fragment>
        ),
      )}
    </p>
  );
}

function act(promise: Promise<unknown>, t: ReturnType<typeof useTranslation>["t"], lang: string, done?: string) {
  promise.then(
    () => (done ? toast(done) : undefined),
    (error: unknown) => toast(errorText(t, error, lang)),
  );
}

/** A member's menu: a direct message; for those who may, mute, ban and roles. */
export function MemberMenu({ roomId, user, role, viewer, children, label }: { roomId: string; user: { id: string; handle: string }; role: Role | null; viewer: Viewer; children: ReactNode; label: string }) {
  const { t, i18n } = useTranslation("chat");
  const lang = i18n.language;
  const self = user.id === viewer.id;
  const canModerate = !self && viewer.role !== null && RANK[viewer.role] >= RANK.moderator && RANK[viewer.role] > RANK[role ?? "member"];
  const mute = (minutes: number) =>
    act(chat.mute(roomId, user.id, minutes), t, lang, t("member.muted", { handle: user.handle }));
  return (
    <Menu>
      <MenuTrigger aria-label={label} className="rounded text-sm font-semibold hover:underline focus-visible:outline-2 focus-visible:outline-violet-600">
        {children}
      </MenuTrigger>
      <MenuContent label={t("member.menu", { handle: user.handle })}>
        <MenuLabel>@{user.handle}</MenuLabel>
        {self ? (
          <MenuItem disabled>{t("member.you")}</MenuItem>
        ) : (
          <MenuItem
            onSelect={() =>
              chat.openDirect(user.id).then(
                (room) => chat.openRoom(room.id),
                (error: unknown) => toast(errorText(t, error, lang)),
              )
            }
          >
            {t("member.message")}
          </MenuItem>
        )}
        {canModerate ? (
          <>
            <MenuSeparator />
            <MenuItem onSelect={() => mute(10)}>{t("member.mute10m")}</MenuItem>
            <MenuItem onSelect={() => mute(60)}>{t("member.mute1h")}</MenuItem>
            <MenuItem onSelect={() => mute(24 * 60)}>{t("member.mute1d")}</MenuItem>
            <MenuItem onSelect={() => act(chat.ban(roomId, user.id), t, lang, t("member.banned", { handle: user.handle }))}>{t("member.ban")}</MenuItem>
          </>
        ) : null}
        {viewer.role === "owner" && !self && role !== "owner" ? (
          <MenuItem onSelect={() => act(chat.setRole(roomId, user.id, role === "moderator" ? "member" : "moderator"), t, lang)}>
            {role === "moderator" ? t("member.makeMember") : t("member.makeModerator")}
          </MenuItem>
        ) : null}
      </MenuContent>
    </Menu>
  );
}

interface ItemProps {
  line: Line;
  /** The message it answers, if shown. */
  replied: Line | null;
  viewer: Viewer;
  authorRole: Role | null;
  onReply: (line: Line) => void;
  onEdit: (line: Line) => void;
}

/** One message: sender, time, edited mark, reply, reactions; its actions in a menu. */
export const MessageItem = memo(function MessageItem({ line, replied, viewer, authorRole, onReply, onEdit }: ItemProps) {
  const { t, i18n } = useTranslation("chat");
  const lang = i18n.language;
  const mine = line.author?.id === viewer.id;
  const handle = line.author?.handle ?? t("message.someone");
  const time = formatTime(line.at, lang);
  const sent = line.status === "sent";
  const mentioned = mentionsMe(line, viewer);
  const isModerator = viewer.role === "owner" || viewer.role === "moderator";
  const reactions = Object.entries(line.reactions ?? {});

  return (
    <article
      aria-label={t("message.label", { handle, time })}
      className={cn(
        "group px-3 py-1.5",
        mentioned && "border-l-4 border-amber-500 bg-amber-50 dark:bg-amber-950/40",
        line.status !== "sent" && "opacity-80",
      )}
    >
      {line.reply_to ? (
        <p className="truncate text-xs text-zinc-600 dark:text-zinc-400">
          {replied
            ? t("message.inReplyTo", { handle: replied.author?.handle ?? t("message.someone"), body: replied.deleted ? t("message.deleted") : replied.body })
            : t("message.inReplyToEarlier")}
        </p>
      ) : null}
      <div className="flex items-baseline gap-2">
        {line.author ? (
          <MemberMenu roomId={line.room_id} user={line.author} role={authorRole} viewer={viewer} label={t("member.menu", { handle })}>
            {handle}
          </MemberMenu>
        ) : (
          <span className="text-sm font-semibold">{handle}</span>
        )}
        <time dateTime={line.at} title={new Date(line.at).toLocaleString(lang)} className="text-xs text-zinc-600 dark:text-zinc-400">
          {time}
        </time>
        {line.edited_at && !line.deleted ? <span className="text-xs text-zinc-600 dark:text-zinc-400">{t("message.edited")}</span> : null}
        {line.status === "pending" ? <span className="text-xs font-medium text-amber-800 dark:text-amber-300">{t("message.pending")}</span> : null}
        {sent && !line.deleted ? (
          <Menu>
            <MenuTrigger
              aria-label={t("message.actions", { handle, time })}
              className="ml-auto inline-flex h-6 w-6 items-center justify-center rounded text-zinc-600 hover:bg-zinc-200 focus-visible:outline-2 focus-visible:outline-violet-600 dark:text-zinc-400 dark:hover:bg-zinc-800"
            >
              <span aria-hidden="true">⋯</span>
            </MenuTrigger>
            <MenuContent label={t("message.actionsMenu")}>
              <MenuItem onSelect={() => onReply(line)}>{t("message.reply")}</MenuItem>
              {REACTIONS.map((emoji) => (
                <MenuItem key={emoji} onSelect={() => act(chat.toggleReaction(line.room_id, line.id, emoji), t, lang)}>
                  {t("message.react", { emoji })}
                </MenuItem>
              ))}
              {mine ? <MenuItem onSelect={() => onEdit(line)}>{t("message.edit")}</MenuItem> : null}
              {mine || isModerator ? (
                <MenuItem onSelect={() => act(chat.deleteMessage(line.id), t, lang)}>{mine ? t("message.delete") : t("message.deleteAsModerator")}</MenuItem>
              ) : null}
            </MenuContent>
          </Menu>
        ) : null}
      </div>
      {line.deleted ? (
        <p className="text-sm italic text-zinc-600 dark:text-zinc-400">{t("message.deleted")}</p>
      ) : (
        <Body text={line.body ?? ""} myHandle={viewer.handle} />
      )}
      {line.status === "failed" && line.cid ? (
        <div role="alert" className="mt-1 flex flex-wrap items-center gap-2 text-xs text-red-800 dark:text-red-300">
          <span>{t("message.failed", { reason: errorText(t, new FrameError({ code: line.error?.code ?? "unavailable", message: line.error?.message ?? "", retry_after: line.error?.retryAfter }), lang) })}</span>
          <button type="button" className="underline" onClick={() => chat.retryMessage(line.room_id, line.cid!)}>
            {t("message.retry")}
          </button>
          <button type="button" className="underline" onClick={() => chat.discardMessage(line.room_id, line.cid!)}>
            {t("message.discard")}
          </button>
        </div>
      ) : null}
      {reactions.length ? (
        <ul className="mt-1 flex flex-wrap gap-1" aria-label={t("message.reactions")}>
          {reactions.map(([emoji, users]) => {
            const minePressed = users.includes(viewer.id);
            return (
              <li key={emoji}>
                <button
                  type="button"
                  aria-pressed={minePressed}
                  aria-label={t("message.reaction", { emoji, count: users.length })}
                  onClick={() => act(chat.toggleReaction(line.room_id, line.id, emoji), t, lang)}
                  className={cn(
                    "inline-flex h-6 items-center gap-1 rounded-full border px-2 text-xs",
                    minePressed ? "border-violet-600 bg-violet-100 text-violet-950 dark:bg-violet-900 dark:text-white" : "border-zinc-300 dark:border-zinc-600",
                  )}
                >
                  <span aria-hidden="true">{emoji}</span>
                  <span aria-hidden="true">{users.length}</span>
                </button>
              </li>
            );
          })}
        </ul>
      ) : null}
    </article>
  );
});
