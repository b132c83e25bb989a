/**
 * The chat over the app's one socket: on every welcome it (re)joins the user's rooms, learns
 * their members and unread counts and fetches what was missed; it turns the UI's actions into
 * frames and their acks into state. Sends go with `resend`, so a message typed while the socket
 * is down, or whose ack was lost with it, goes out (again) with the same cid once it is back.
 */
import i18n from "@/lib/i18n";
import {
  FrameError,
  newCid,
  socket,
  type ChatFrame,
  type ChatMessage,
  type HistoryAck,
  type JoinAck,
  type MembersAck,
  type MuteAck,
  type RoomAck,
  type RoomInfo,
  type SendAck,
  type ServerFrame,
  type UnreadAck,
} from "@/features/socket";

import * as model from "./model";
import { update, useChat } from "./store";

export const PAGE = 50;
/** Pages fetched at most per room to catch up after a reconnect. */
const CATCH_UP_PAGES = 10;
const TYPING_EVERY_MS = 3000;

const CHAT_TYPES = new Set<string>([
  "message", "message.edited", "message.deleted", "reaction", "typing", "presence", "mention",
  "room.added", "room.removed", "room.banned", "member", "listen",
]);

export function isChatFrame(frame: ServerFrame): frame is ChatFrame {
  return CHAT_TYPES.has(frame.type);
}

const frameListeners = new Set<(frame: ChatFrame) => void>();

/** Be told of every chat frame after the store took it in (listening rooms, comments). */
export function onChatFrame(listener: (frame: ChatFrame) => void): () => void {
  frameListeners.add(listener);
  return () => frameListeners.delete(listener);
}

const visible = () => typeof document === "undefined" || document.visibilityState !== "hidden";

/** Join a room the user is in again (after a welcome) or for the first time, and learn its members. */
async function enter(frame: { room_id: string } | { track_id: string }): Promise<RoomInfo> {
  const ack = await socket.request<JoinAck>({ type: "room.join", ...frame });
  update((s) => model.setOnline(model.addRoom(s, ack.room), ack.online));
  void refreshMembers(ack.room.id);
  return ack.room;
}

export async function refreshMembers(roomId: string): Promise<void> {
  try {
    const ack = await socket.request<MembersAck>({ type: "room.members", room_id: roomId });
    update((s) => model.setMembers(s, roomId, ack.members));
  } catch {
    // the member list is a nicety: the next welcome asks again
  }
}

/** After a reconnect: newer pages until the newest message already shown. */
async function catchUp(roomId: string): Promise<void> {
  const room = useChat.getState().rooms[roomId];
  const newest = room?.lines.filter((l) => l.status === "sent").at(-1)?.id;
  if (!room || room.older === undefined || !newest) return;
  let before: string | undefined;
  for (let page = 0; page < CATCH_UP_PAGES; page++) {
    const ack = await socket.request<HistoryAck>({ type: "history", room_id: roomId, limit: PAGE, ...(before ? { before } : {}) });
    update((s) => model.receiveHistory(s, roomId, ack.messages, ack.next_before, false));
    if (!ack.next_before || ack.messages.some((m) => m.id <= newest)) return;
    before = ack.next_before;
  }
}

async function refreshUnread(): Promise<void> {
  try {
    const ack = await socket.request<UnreadAck>({ type: "unread" });
    update((s) => model.setUnread(s, ack.rooms));
  } catch {
    // counts stay as they were
  }
}

async function welcomed(me: { id: string; handle: string }, rooms: string[]): Promise<void> {
  update((s) => (s.me?.id === me.id ? s : { ...model.emptyChat(), me }));
  await Promise.allSettled(rooms.map((id) => enter({ room_id: id }).then(() => catchUp(id))));
  await refreshUnread();
  const active = useChat.getState().active;
  if (active) void markRead(active);
}

function notify(message: ChatMessage): void {
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  const state = useChat.getState();
  if (visible() && state.active === message.room_id) return;
  const room = state.rooms[message.room_id];
  const where = room ? model.roomTitle(room, state.me?.id ?? null) : null;
  try {
    new Notification(i18n.t("chat:notice.title", { handle: message.author?.handle ?? "", room: where ?? "" }), {
      body: message.body ?? "",
      tag: message.id,
    });
  } catch {
    // some browsers allow notifications only from a service worker: the badge still says it
  }
}

socket.on((frame) => {
  if (frame.type === "welcome") {
    void welcomed(frame.user, frame.rooms);
    return;
  }
  if (!isChatFrame(frame)) return;
  const before = useChat.getState();
  update((s) => model.applyFrame(s, frame, Date.now(), visible()));
  if (frame.type === "message") {
    const fresh = !before.rooms[frame.room_id]?.lines.some((l) => l.id === frame.id);
    if (fresh && model.mentionsMe(frame, before.me)) notify(frame);
    if (fresh && before.active === frame.room_id && visible() && frame.author?.id !== before.me?.id) void markRead(frame.room_id);
  }
  if (frame.type === "room.added") void refreshMembers(frame.room.id);
  if (frame.type === "mention" && !before.rooms[frame.room_id]) notify(frame.message);
  for (const listener of frameListeners) listener(frame);
});

if (typeof document !== "undefined") {
  document.addEventListener("visibilitychange", () => {
    socket.send({ type: "presence.set", state: visible() ? "online" : "away" });
    const active = useChat.getState().active;
    if (visible() && active) void markRead(active);
  });
}

/** Show a room: its newest page on first opening, and its messages read. */
export function openRoom(roomId: string | null): void {
  update((s) => model.setActive(s, roomId));
  if (!roomId) return;
  const room = useChat.getState().rooms[roomId];
  if (room && room.older === undefined) void loadOlder(roomId);
  void markRead(roomId);
}

/** The next older page of a room's history (the first page when none is shown yet). */
export async function loadOlder(roomId: string): Promise<void> {
  const room = useChat.getState().rooms[roomId];
  if (!room || room.loadingOlder || room.older === null) return;
  update((s) => model.setLoadingOlder(s, roomId, true));
  try {
    const ack = await socket.request<HistoryAck>({
      type: "history",
      room_id: roomId,
      limit: PAGE,
      ...(room.older ? { before: room.older } : {}),
    });
    update((s) => model.receiveHistory(s, roomId, ack.messages, ack.next_before, true));
  } catch (error) {
    update((s) => model.setLoadingOlder(s, roomId, false));
    throw error;
  }
}

/** Move the room's read marker to its newest message. */
export async function markRead(roomId: string): Promise<void> {
  update((s) => model.markRead(s, roomId));
  const newest = useChat.getState().rooms[roomId]?.lines.filter((l) => l.status === "sent").at(-1);
  if (!newest) return;
  try {
    await socket.request({ type: "read", room_id: roomId, up_to: newest.id });
  } catch {
    // not stored yet (the archiver is a moment behind) or offline: the next read moves it
  }
}

function transmit(roomId: string, cid: string, body: string, replyTo: string | null, trackMs: number | null): void {
  socket
    .request<SendAck>(
      { type: "message.send", cid, room_id: roomId, body, ...(replyTo ? { reply_to: replyTo } : {}), ...(trackMs !== null ? { track_ms: trackMs } : {}) },
      { resend: true },
    )
    .then(
      (ack) => update((s) => model.sendAcked(s, roomId, cid, ack.id, ack.at)),
      (error: unknown) => {
        const e = error instanceof FrameError ? error : new FrameError({ code: "unavailable", message: String(error) });
        if (e.code === "replaced") return;
        update((s) => {
          let next = model.sendFailed(s, roomId, cid, { code: e.code, message: e.message, retryAfter: e.retryAfter });
          if (e.code === "muted" && s.me) next = model.setMuted(next, roomId, s.me.id, mutedUntilOf(e.message));
          if (e.code === "banned") next = model.applyFrame(next, { type: "room.banned", room_id: roomId });
          return next;
        });
      },
    );
}

/** The end of a mute as the gateway's `muted` error words it ("... until 2026-...") or null. */
export function mutedUntilOf(message: string): string | null {
  const match = /until (\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)?)/.exec(message);
  return match ? match[1]! : null;
}

export interface SendOptions {
  replyTo?: string | null;
  trackMs?: number | null;
}

/**
 * Send a message: shown at once as pending, then sent (or queued until the socket is open).
 * Returns its client id. A body over the limit is refused here, before it is sent.
 */
export function sendMessage(roomId: string, body: string, options: SendOptions = {}): string {
  if (body.trim().length === 0 || [...body].length > model.MAX_BODY_CHARS) throw new RangeError("body length");
  const cid = newCid();
  const replyTo = options.replyTo ?? null;
  const trackMs = options.trackMs ?? null;
  update((s) => model.addPending(s, roomId, cid, body, replyTo, trackMs));
  transmit(roomId, cid, body, replyTo, trackMs);
  return cid;
}

/** Send a refused message again, with its first client id (never a second copy). */
export function retryMessage(roomId: string, cid: string): void {
  const line = useChat.getState().rooms[roomId]?.lines.find((l) => l.id === model.pendingId(cid));
  if (!line || line.status !== "failed") return;
  update((s) => model.sendRetried(s, roomId, cid));
  transmit(roomId, cid, line.body ?? "", line.reply_to, line.track_ms);
}

export function discardMessage(roomId: string, cid: string): void {
  update((s) => model.discardPending(s, roomId, cid));
}

export function editMessage(id: string, body: string): Promise<unknown> {
  return socket.request({ type: "message.edit", id, body });
}

export function deleteMessage(id: string): Promise<unknown> {
  return socket.request({ type: "message.delete", id });
}

/** Add the user's reaction, or take it back when it is there. */
export function toggleReaction(roomId: string, id: string, emoji: string): Promise<unknown> {
  const state = useChat.getState();
  const line = state.rooms[roomId]?.lines.find((l) => l.id === id);
  const on = !!state.me && !!line?.reactions?.[emoji]?.includes(state.me.id);
  return socket.request({ type: on ? "reaction.remove" : "reaction.add", id, emoji });
}

const lastTyping = new Map<string, number>();

/** Say the user is typing (at most once every 3 s per room, as the gateway passes them). */
export function typing(roomId: string, now: number = Date.now()): void {
  if (now - (lastTyping.get(roomId) ?? 0) < TYPING_EVERY_MS) return;
  if (socket.send({ type: "typing", room_id: roomId })) lastTyping.set(roomId, now);
}

export async function createRoom(name: string, kind: "public" | "private", topic?: string): Promise<RoomInfo> {
  const ack = await socket.request<RoomAck>({ type: "room.create", name, kind, ...(topic ? { topic } : {}) });
  update((s) => model.addRoom(s, ack.room));
  void refreshMembers(ack.room.id);
  return ack.room;
}

/** Join a room by its id (public rooms; private ones once invited), or a track's room. */
export function joinRoom(target: { room_id: string } | { track_id: string }): Promise<RoomInfo> {
  return enter(target);
}

export async function leaveRoom(roomId: string): Promise<void> {
  await socket.request({ type: "room.leave", room_id: roomId });
  update((s) => model.forgetRoom(s, roomId));
}

export function invite(roomId: string, userId: string): Promise<unknown> {
  return socket.request({ type: "room.invite", room_id: roomId, user_id: userId });
}

/** The direct room with another user (made on first use). */
export async function openDirect(userId: string): Promise<RoomInfo> {
  const ack = await socket.request<RoomAck>({ type: "dm.open", user_id: userId });
  update((s) => model.addRoom(s, ack.room));
  await refreshMembers(ack.room.id);
  return ack.room;
}

export async function mute(roomId: string, userId: string, minutes: number): Promise<string> {
  const ack = await socket.request<MuteAck>({ type: "mod.mute", room_id: roomId, user_id: userId, minutes });
  update((s) => model.setMuted(s, roomId, userId, ack.muted_until));
  return ack.muted_until;
}

export function ban(roomId: string, userId: string): Promise<unknown> {
  return socket.request({ type: "mod.ban", room_id: roomId, user_id: userId });
}

export function setRole(roomId: string, userId: string, role: "moderator" | "member"): Promise<unknown> {
  return socket.request({ type: "room.role", room_id: roomId, user_id: userId, role });
}
