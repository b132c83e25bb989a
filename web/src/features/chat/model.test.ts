import type { ChatMessage, MessageFrame } from "@/features/socket";

import {
  addPending,
  addRoom,
  applyFrame,
  emptyChat,
  mentionQuery,
  mentionsMe,
  receiveHistory,
  sendAcked,
  sendFailed,
  sendRetried,
  setActive,
  setUnread,
  typingHandles,
  type ChatState,
} from "./model";

const ME = { id: "u-me", handle: "lin" };
const ADA = { id: "u-ada", handle: "ada" };
// UUIDv7-like ids: their text order is their time order.
const id = (n: number) => `0190000${String(n).padStart(5, "0")}`;

function message(n: number, overrides: Partial<ChatMessage> = {}): ChatMessage {
  return { room_id: "r1", id: id(n), cid: `c${n}`, author: ADA, body: `message ${n}`, track_ms: null, reply_to: null, mentions: [], at: `2026-01-01T00:00:${String(n % 60).padStart(2, "0")}Z`, ...overrides };
}
const frame = (m: ChatMessage): MessageFrame => ({ type: "message", ...m });

function chat(): ChatState {
  return addRoom(addRoom({ ...emptyChat(), me: ME }, { id: "r1", kind: "public", name: "Night buses", topic: null, track_id: null }), {
    id: "r2",
    kind: "public",
    name: "Day trains",
    topic: null,
    track_id: null,
  });
}
const bodies = (s: ChatState, room = "r1") => s.rooms[room]!.lines.map((l) => l.body);

test("history pages merge oldest first, one line per message, the newest copy winning", () => {
  let s = chat();
  // The newest page, newest first as the gateway sends it.
  s = receiveHistory(s, "r1", [message(5), message(4), message(3)], id(3), true);
  expect(s.rooms.r1!.older).toBe(id(3));
  // A live message, then an older page that overlaps the first one.
  s = applyFrame(s, frame(message(6)));
  s = receiveHistory(s, "r1", [message(3, { body: "message 3, edited", edited_at: "2026-01-01T01:00:00Z" }), message(2), message(1)], null, true);
  expect(bodies(s)).toEqual(["message 1", "message 2", "message 3, edited", "message 4", "message 5", "message 6"]);
  expect(s.rooms.r1!.older).toBeNull();
  expect(s.rooms.r1!.lines[2]!.edited_at).toBe("2026-01-01T01:00:00Z");
});

test("a catch-up page after a reconnect fills the gap without moving the way to older pages", () => {
  let s = receiveHistory(chat(), "r1", [message(2), message(1)], id(1), true);
  s = receiveHistory(s, "r1", [message(5), message(4), message(3), message(2)], id(2), false);
  expect(bodies(s)).toEqual(["message 1", "message 2", "message 3", "message 4", "message 5"]);
  expect(s.rooms.r1!.older).toBe(id(1));
});

test("a live frame keeps the reactions and the edit an earlier page said", () => {
  let s = receiveHistory(chat(), "r1", [message(1, { reactions: { "🎉": [ME.id] }, edited_at: "2026-01-01T01:00:00Z" })], null, true);
  s = applyFrame(s, frame(message(1)));
  expect(s.rooms.r1!.lines[0]!.reactions).toEqual({ "🎉": [ME.id] });
  expect(s.rooms.r1!.lines[0]!.edited_at).toBe("2026-01-01T01:00:00Z");
});

test("a message typed shows at once as pending, after the sent ones, and becomes the message once", () => {
  let s = receiveHistory(chat(), "r1", [message(1)], null, true);
  s = addPending(s, "r1", "mine-1", "on my way", null);
  s = addPending(s, "r1", "mine-2", "five minutes", null);
  s = applyFrame(s, frame(message(2)));
  expect(s.rooms.r1!.lines.map((l) => [l.body, l.status])).toEqual([
    ["message 1", "sent"],
    ["message 2", "sent"],
    ["on my way", "pending"],
    ["five minutes", "pending"],
  ]);
  // The room's frame of the first arrives before its ack; then the ack (a no-op by now).
  s = applyFrame(s, frame(message(3, { cid: "mine-1", author: ME, body: "on my way" })));
  s = sendAcked(s, "r1", "mine-1", id(3), "2026-01-01T00:00:03Z");
  // The second's ack comes first (its frame was lost with the socket), then its frame.
  s = sendAcked(s, "r1", "mine-2", id(4), "2026-01-01T00:00:04Z");
  s = applyFrame(s, frame(message(4, { cid: "mine-2", author: ME, body: "five minutes" })));
  expect(s.rooms.r1!.lines.map((l) => [l.body, l.status])).toEqual([
    ["message 1", "sent"],
    ["message 2", "sent"],
    ["on my way", "sent"],
    ["five minutes", "sent"],
  ]);
  // A history page naming them again after a reconnect doubles nothing.
  s = receiveHistory(s, "r1", [message(4, { cid: "mine-2", author: ME, body: "five minutes" }), message(3, { cid: "mine-1", author: ME, body: "on my way" })], null, false);
  expect(bodies(s)).toEqual(["message 1", "message 2", "on my way", "five minutes"]);
});

test("a refused send is marked failed with its reason, and pending again when retried", () => {
  let s = addPending(chat(), "r1", "m", "hello", null);
  s = sendFailed(s, "r1", "m", { code: "rate_limited", message: "slow down", retryAfter: 2 });
  expect(s.rooms.r1!.lines[0]).toMatchObject({ status: "failed", error: { code: "rate_limited", retryAfter: 2 } });
  s = sendRetried(s, "r1", "m");
  expect(s.rooms.r1!.lines[0]).toMatchObject({ status: "pending", error: undefined });
});

test("unread and mention counts: others' new messages in rooms not on screen", () => {
  let s = setActive(chat(), "r2");
  s = applyFrame(s, frame(message(1)));
  s = applyFrame(s, frame(message(2, { body: "@lin which stop?", mentions: [ME.id] })));
  s = applyFrame(s, frame(message(2, { body: "@lin which stop?", mentions: [ME.id] }))); // the same again
  s = applyFrame(s, frame(message(3, { author: ME, cid: "x", body: "mine" })));
  s = applyFrame(s, frame(message(4, { room_id: "r2" })));
  expect(s.rooms.r1).toMatchObject({ unread: 2, mentions: 1 });
  expect(s.rooms.r2).toMatchObject({ unread: 0, mentions: 0 });
  // A page not on screen counts even the room shown.
  s = applyFrame(s, frame(message(5, { room_id: "r2" })), Date.now(), false);
  expect(s.rooms.r2!.unread).toBe(1);
  // Opening the room reads it; the server's counts never undo that for the room on screen.
  s = setActive(s, "r1");
  expect(s.rooms.r1).toMatchObject({ unread: 0, mentions: 0 });
  s = setUnread(s, [
    { room_id: "r1", unread: 7, mentions: 2 },
    { room_id: "r2", unread: 3, mentions: 1 },
  ]);
  expect(s.rooms.r1).toMatchObject({ unread: 0, mentions: 0 });
  expect(s.rooms.r2).toMatchObject({ unread: 3, mentions: 1 });
});

test("a mention is the gateway's resolved id or @handle as a word, never one's own message", () => {
  expect(mentionsMe({ mentions: [ME.id], body: "hi", author: ADA }, ME)).toBe(true);
  expect(mentionsMe({ mentions: [], body: "hey @Lin, look", author: ADA }, ME)).toBe(true);
  expect(mentionsMe({ mentions: [], body: "@lin", author: ADA }, ME)).toBe(true);
  expect(mentionsMe({ mentions: [], body: "@linda is here", author: ADA }, ME)).toBe(false);
  expect(mentionsMe({ mentions: [], body: "mail lin@example.org", author: ADA }, ME)).toBe(false);
  expect(mentionsMe({ mentions: [ME.id], body: "@lin", author: ME }, ME)).toBe(false);
  expect(mentionsMe({ mentions: [], body: null, author: ADA }, ME)).toBe(false);
});

test("the @handle being typed is found before the caret only", () => {
  expect(mentionQuery("hello @ad", 9)).toEqual({ start: 6, query: "ad" });
  expect(mentionQuery("@", 1)).toEqual({ start: 0, query: "" });
  expect(mentionQuery("mail a@b", 8)).toBeNull();
  expect(mentionQuery("@ada done", 9)).toBeNull();
});

test("edits, deletes, reactions and typing apply to the message they name", () => {
  let s = receiveHistory(chat(), "r1", [message(1)], null, true);
  s = applyFrame(s, { type: "reaction", room_id: "r1", id: id(1), user_id: ME.id, emoji: "🎉", on: true });
  s = applyFrame(s, { type: "reaction", room_id: "r1", id: id(1), user_id: ADA.id, emoji: "🎉", on: true });
  s = applyFrame(s, { type: "reaction", room_id: "r1", id: id(1), user_id: ME.id, emoji: "🎉", on: false });
  expect(s.rooms.r1!.lines[0]!.reactions).toEqual({ "🎉": [ADA.id] });
  s = applyFrame(s, { type: "message.edited", room_id: "r1", id: id(1), body: "changed", edited_at: "2026-01-01T02:00:00Z" });
  expect(s.rooms.r1!.lines[0]).toMatchObject({ body: "changed", edited_at: "2026-01-01T02:00:00Z" });
  s = applyFrame(s, { type: "message.deleted", room_id: "r1", id: id(1), deleted_by: ADA.id });
  expect(s.rooms.r1!.lines[0]).toMatchObject({ body: null, deleted: true, reactions: {} });

  s = applyFrame(s, { type: "member", room_id: "r1", user: ADA, role: "member", muted_until: null, banned: false, left: false });
  s = applyFrame(s, { type: "typing", room_id: "r1", user_id: ADA.id }, 1000);
  expect(typingHandles(s.rooms.r1!, 2000)).toEqual(["ada"]);
  expect(typingHandles(s.rooms.r1!, 10_000)).toEqual([]);
  // Ada's message ends her typing.
  s = applyFrame(s, frame(message(2)), 1500);
  expect(typingHandles(s.rooms.r1!, 2000)).toEqual([]);
});

test("a ban of the user marks the room; a mute of them is kept with its end", () => {
  let s = applyFrame(chat(), { type: "member", room_id: "r1", user: ME, role: "member", muted_until: "2030-01-01T00:00:00+00:00", banned: false, left: false });
  expect(s.rooms.r1!.members[ME.id]!.mutedUntil).toBe("2030-01-01T00:00:00+00:00");
  s = applyFrame(s, { type: "room.banned", room_id: "r1" });
  expect(s.rooms.r1!.gone).toBe("banned");
});
