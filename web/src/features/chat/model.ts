/**
 * The chat's client state as plain data and pure functions over it (the store applies them):
 * rooms, their messages oldest first, pending sends, unread and mention counts, typing,
 * presence. Message ids are UUIDv7, so their text order is their time order.
 */
import type {
  ChatFrame,
  ChatMessage,
  MemberInfo,
  PresenceState,
  Role,
  RoomInfo,
} from "@/features/socket";

/** The gateway's limit on a message body, in characters (PROTOCOL.md: 1-4,000). */
export const MAX_BODY_CHARS = 4000;
/** How long a `typing` frame shows (the gateway sends one at most every 3 s). */
export const TYPING_MS = 4500;

export type LineStatus = "sent" | "pending" | "failed";

/** A message as the panel shows it: sent, waiting for its ack, or refused. */
export interface Line extends ChatMessage {
  status: LineStatus;
  error?: { code: string; message: string; retryAfter?: number };
}

export interface Member {
  handle: string;
  role: Role;
  mutedUntil: string | null;
}

export interface RoomState {
  info: RoomInfo;
  /** Oldest first; pending ones last, in the order they were typed. */
  lines: Line[];
  /** The `before` of the next older page: undefined before the first page, null at the start. */
  older: string | null | undefined;
  loadingOlder: boolean;
  unread: number;
  mentions: number;
  members: Record<string, Member>;
  /** Who is typing: user id → when it stops showing (ms since the epoch). */
  typing: Record<string, number>;
  /** Set when the user was banned from or taken out of the room (the room stays listed). */
  gone: "banned" | "removed" | null;
}

export interface ChatState {
  me: { id: string; handle: string } | null;
  rooms: Record<string, RoomState>;
  presence: Record<string, PresenceState>;
  /** The room on screen, whose new messages are read as they come. */
  active: string | null;
}

export const emptyChat = (): ChatState => ({ me: null, rooms: {}, presence: {}, active: null });

export const pendingId = (cid: string) => `pending:${cid}`;

function emptyRoom(info: RoomInfo): RoomState {
  return { info, lines: [], older: undefined, loadingOlder: false, unread: 0, mentions: 0, members: {}, typing: {}, gone: null };
}

function withRoom(state: ChatState, roomId: string, change: (room: RoomState) => RoomState): ChatState {
  const room = state.rooms[roomId];
  if (!room) return state;
  return { ...state, rooms: { ...state.rooms, [roomId]: change(room) } };
}

function editLine(state: ChatState, roomId: string, id: string, change: (line: Line) => Line): ChatState {
  return withRoom(state, roomId, (room) => {
    const index = room.lines.findIndex((l) => l.id === id);
    if (index < 0) return room;
    const lines = room.lines.slice();
    lines[index] = change(lines[index]!);
    return { ...room, lines };
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Whether a message mentions the user: the gateway's resolved ids, or `@handle` in its body. */
export function mentionsMe(message: Pick<ChatMessage, "mentions" | "body" | "author">, me: { id: string; handle: string } | null): boolean {
  if (!me || message.author?.id === me.id) return false;
  if (message.mentions.includes(me.id)) return true;
  return message.body != null && new RegExp(`(^|[^\\w@])@${escape(me.handle)}(?![\\w-])`, "i").test(message.body);
}

/** The `@handle` being typed just before the caret, or null. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const match = /(^|\s)@([\w-]{0,30})$/.exec(text.slice(0, caret));
  return match ? { start: caret - match[2]!.length - 1, query: match[2]! } : null;
}

/**
 * Merge messages into a room's lines: one line per id (the incoming copy wins), a pending line
 * replaced by the message its cid became, sent lines in id order, pending ones after them.
 */
export function mergeLines(lines: Line[], incoming: ChatMessage[], myId: string | null): Line[] {
  if (incoming.length === 0) return lines;
  const byId = new Map<string, Line>();
  const pending: Line[] = [];
  const arrivedCids = new Set(incoming.filter((m) => m.cid && m.author?.id === myId).map((m) => m.cid!));
  for (const line of lines) {
    if (line.status === "sent") byId.set(line.id, line);
    else if (!(line.cid && arrivedCids.has(line.cid))) pending.push(line);
  }
  for (const message of incoming) {
    const before = byId.get(message.id);
    // A live frame has no reactions nor edit: keep what an earlier history page said.
    byId.set(message.id, {
      ...message,
      reactions: message.reactions ?? before?.reactions ?? {},
      edited_at: message.edited_at !== undefined ? message.edited_at : (before?.edited_at ?? null),
      deleted: message.deleted ?? before?.deleted ?? false,
      status: "sent",
    });
  }
  const sent = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return [...sent, ...pending];
}

/** The user's rooms as the gateway says (join acks, room.added): new ones are added, known ones renamed. */
export function addRoom(state: ChatState, info: RoomInfo): ChatState {
  const room = state.rooms[info.id];
  return { ...state, rooms: { ...state.rooms, [info.id]: room ? { ...room, info, gone: null } : emptyRoom(info) } };
}

export function forgetRoom(state: ChatState, roomId: string): ChatState {
  const rooms = { ...state.rooms };
  delete rooms[roomId];
  return { ...state, rooms, active: state.active === roomId ? null : state.active };
}

export function setMembers(state: ChatState, roomId: string, members: MemberInfo[]): ChatState {
  const presence = { ...state.presence };
  for (const m of members) presence[m.id] = m.state;
  const next = withRoom(state, roomId, (room) => ({
    ...room,
    members: Object.fromEntries(
      members.map((m) => [m.id, { handle: m.handle, role: m.role, mutedUntil: room.members[m.id]?.mutedUntil ?? null }]),
    ),
  }));
  return { ...next, presence };
}

export function setOnline(state: ChatState, userIds: string[]): ChatState {
  const presence = { ...state.presence };
  for (const id of userIds) if (presence[id] !== "away") presence[id] = "online";
  return { ...state, presence };
}

/** A page of history (newest first, as the gateway sends it). `older`: whether it is the next older page. */
export function receiveHistory(state: ChatState, roomId: string, messages: ChatMessage[], nextBefore: string | null, older: boolean): ChatState {
  return withRoom(state, roomId, (room) => ({
    ...room,
    lines: mergeLines(room.lines, messages, state.me?.id ?? null),
    // A catch-up page after a reconnect leaves the way to older pages as it was.
    older: older || room.older === undefined ? nextBefore : room.older,
    loadingOlder: older ? false : room.loadingOlder,
  }));
}

export function setLoadingOlder(state: ChatState, roomId: string, loading: boolean): ChatState {
  return withRoom(state, roomId, (room) => ({ ...room, loadingOlder: loading }));
}

export function setUnread(state: ChatState, counts: { room_id: string; unread: number; mentions: number }[]): ChatState {
  let next = state;
  for (const c of counts) {
    next = withRoom(next, c.room_id, (room) =>
      c.room_id === state.active ? { ...room, unread: 0, mentions: 0 } : { ...room, unread: c.unread, mentions: c.mentions },
    );
  }
  return next;
}

export function markRead(state: ChatState, roomId: string): ChatState {
  return withRoom(state, roomId, (room) => (room.unread || room.mentions ? { ...room, unread: 0, mentions: 0 } : room));
}

export function setActive(state: ChatState, roomId: string | null): ChatState {
  const next = { ...state, active: roomId };
  return roomId ? markRead(next, roomId) : next;
}

/** A message the user typed, shown at once and marked pending until its ack. */
export function addPending(state: ChatState, roomId: string, cid: string, body: string, replyTo: string | null, trackMs: number | null = null): ChatState {
  const me = state.me;
  return withRoom(state, roomId, (room) => ({
    ...room,
    lines: [
      ...room.lines,
      {
        room_id: roomId,
        id: pendingId(cid),
        cid,
        author: me,
        body,
        track_ms: trackMs,
        reply_to: replyTo,
        mentions: [],
        at: new Date().toISOString(),
        edited_at: null,
        deleted: false,
        reactions: {},
        status: "pending",
      },
    ],
  }));
}

/** The ack of a send: the pending line becomes the message (unless its frame came first). */
export function sendAcked(state: ChatState, roomId: string, cid: string, id: string, at: string): ChatState {
  const room = state.rooms[roomId];
  const line = room?.lines.find((l) => l.id === pendingId(cid));
  if (!room || !line) return state;
  return withRoom(state, roomId, (r) => ({
    ...r,
    lines: mergeLines(r.lines, [{ ...line, id, at, status: "sent" } as ChatMessage], state.me?.id ?? null),
  }));
}

export function sendFailed(state: ChatState, roomId: string, cid: string, error: Line["error"]): ChatState {
  return editLine(state, roomId, pendingId(cid), (line) => ({ ...line, status: "failed", error }));
}

export function sendRetried(state: ChatState, roomId: string, cid: string): ChatState {
  return editLine(state, roomId, pendingId(cid), (line) => ({ ...line, status: "pending", error: undefined }));
}

export function discardPending(state: ChatState, roomId: string, cid: string): ChatState {
  return withRoom(state, roomId, (room) => ({ ...room, lines: room.lines.filter((l) => l.id !== pendingId(cid)) }));
}

export function setMuted(state: ChatState, roomId: string, userId: string, until: string | null): ChatState {
  return withRoom(state, roomId, (room) => {
    const member = room.members[userId];
    return member ? { ...room, members: { ...room.members, [userId]: { ...member, mutedUntil: until } } } : room;
  });
}

/** A `message` frame without its type: the message itself. */
function messageOf(frame: ChatMessage & { type: "message" }): ChatMessage {
  const message: ChatMessage & { type?: string } = { ...frame };
  delete message.type;
  return message;
}

/** Take in one server frame. `now` and `visible` (the page is on screen) are the caller's. */
export function applyFrame(state: ChatState, frame: ChatFrame, now: number = Date.now(), visible = true): ChatState {
  switch (frame.type) {
    case "message": {
      const room = state.rooms[frame.room_id];
      if (!room) return state;
      const message = messageOf(frame);
      const fresh = !room.lines.some((l) => l.id === message.id);
      const mine = message.author?.id === state.me?.id;
      const seen = state.active === frame.room_id && visible;
      const typing = { ...room.typing };
      if (message.author) delete typing[message.author.id];
      return withRoom(state, frame.room_id, (r) => ({
        ...r,
        typing,
        lines: mergeLines(r.lines, [message], state.me?.id ?? null),
        unread: r.unread + (fresh && !mine && !seen ? 1 : 0),
        mentions: r.mentions + (fresh && !seen && mentionsMe(message, state.me) ? 1 : 0),
      }));
    }
    case "message.edited":
      return editLine(state, frame.room_id, frame.id, (line) => ({ ...line, body: frame.body, edited_at: frame.edited_at }));
    case "message.deleted":
      return editLine(state, frame.room_id, frame.id, (line) => ({ ...line, body: null, deleted: true, reactions: {} }));
    case "reaction":
      return editLine(state, frame.room_id, frame.id, (line) => {
        const reactions = { ...line.reactions };
        const users = (reactions[frame.emoji] ?? []).filter((u) => u !== frame.user_id);
        if (frame.on) users.push(frame.user_id);
        if (users.length) reactions[frame.emoji] = users;
        else delete reactions[frame.emoji];
        return { ...line, reactions };
      });
    case "typing":
      if (frame.user_id === state.me?.id) return state;
      return withRoom(state, frame.room_id, (room) => ({ ...room, typing: { ...room.typing, [frame.user_id]: now + TYPING_MS } }));
    case "presence":
      return { ...state, presence: { ...state.presence, [frame.user_id]: frame.state } };
    case "room.added":
      return addRoom(state, frame.room);
    case "room.banned":
      return withRoom(state, frame.room_id, (room) => ({ ...room, gone: "banned" }));
    case "room.removed":
      return withRoom(state, frame.room_id, (room) => ({ ...room, gone: "removed" }));
    case "member":
      return withRoom(state, frame.room_id, (room) => {
        const members = { ...room.members };
        if (frame.left || frame.banned) delete members[frame.user.id];
        else members[frame.user.id] = { handle: frame.user.handle ?? members[frame.user.id]?.handle ?? "", role: frame.role ?? "member", mutedUntil: frame.muted_until };
        const gone = frame.banned && frame.user.id === state.me?.id ? "banned" : room.gone;
        return { ...room, members, gone };
      });
    case "mention":
    case "listen":
      return state;
  }
}

/** The name a room shows: its own, or for a direct room the other person's handle. */
export function roomTitle(room: RoomState, myId: string | null): string | null {
  if (room.info.kind !== "direct") return room.info.name;
  const other = Object.entries(room.members).find(([id]) => id !== myId);
  return other ? `@${other[1].handle}` : null;
}

/** Who is typing in a room now (handles), the user aside. */
export function typingHandles(room: RoomState, now: number): string[] {
  return Object.entries(room.typing)
    .filter(([, until]) => until > now)
    .map(([id]) => room.members[id]?.handle ?? "…");
}

/** When a mute ends, if it is still running (an ISO date), else null. */
export function activeMute(until: string | null | undefined, now: number = Date.now()): string | null {
  return until && Date.parse(until) > now ? until : null;
}
