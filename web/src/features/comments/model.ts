/**
 * A track's comments as plain data and pure functions over it (the store applies them): the
 * messages of the track's room, merged from history pages, live frames and the user's own
 * sends; the markers they make on the waveform, grouped where they crowd; the one at the playhead.
 */
import type { ChatFrame, ChatMessage } from "@/features/socket";

export type CommentStatus = "sent" | "pending" | "failed";

export interface Comment {
  /** The message id, or `pending:<cid>` until the gateway acknowledges it. */
  id: string;
  cid: string | null;
  author: { id: string; handle: string } | null;
  body: string;
  /** Where in the track it is pinned (ms), or null for a plain comment. */
  track_ms: number | null;
  at: string;
  status: CommentStatus;
}

/** Oldest first (ids are UUIDv7, so their text order is their time order; pending ones last). */
export type Comments = Comment[];

export const pendingId = (cid: string) => `pending:${cid}`;

function fromMessage(message: ChatMessage): Comment | null {
  if (message.deleted || message.body == null) return null;
  return {
    id: message.id,
    cid: message.cid,
    author: message.author,
    body: message.body,
    track_ms: typeof message.track_ms === "number" && message.track_ms >= 0 ? message.track_ms : null,
    at: message.at,
    status: "sent",
  };
}

function order(comments: Comments): Comments {
  const sent = comments.filter((c) => c.status === "sent").sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return [...sent, ...comments.filter((c) => c.status !== "sent")];
}

/**
 * Take in messages (a history page, or one live frame): each is added once, whatever the order
 * they arrive in; one that answers a pending send (the same cid) takes its place; a deleted one
 * goes.
 */
export function receive(comments: Comments, messages: ChatMessage[]): Comments {
  let next = comments;
  for (const message of messages) {
    const known = next.findIndex((c) => c.id === message.id || (message.cid !== null && c.cid === message.cid));
    const comment = fromMessage(message);
    if (known >= 0) {
      next = next.slice();
      if (comment) next[known] = comment;
      else next.splice(known, 1);
    } else if (comment) {
      next = [...next, comment];
    }
  }
  return next === comments ? comments : order(next);
}

/** Apply a live chat frame of the room (other rooms' frames are the caller's to filter out). */
export function applyFrame(comments: Comments, frame: ChatFrame): Comments {
  switch (frame.type) {
    case "message":
      return receive(comments, [frame]);
    case "message.edited":
      return comments.map((c) => (c.id === frame.id ? { ...c, body: frame.body } : c));
    case "message.deleted":
      return comments.filter((c) => c.id !== frame.id);
    default:
      return comments;
  }
}

export function addPending(comments: Comments, cid: string, author: Comment["author"], body: string, trackMs: number | null, at: string): Comments {
  return [...comments, { id: pendingId(cid), cid, author, body, track_ms: trackMs, at, status: "pending" }];
}

/** The send was acknowledged: the comment is sent (unless its live frame already said so). */
export function acked(comments: Comments, cid: string, id: string, at: string): Comments {
  const index = comments.findIndex((c) => c.id === pendingId(cid));
  if (index < 0) return comments;
  if (comments.some((c) => c.id === id)) return comments.filter((_, i) => i !== index);
  const next = comments.slice();
  next[index] = { ...next[index]!, id, at, status: "sent" };
  return order(next);
}

export function failed(comments: Comments, cid: string): Comments {
  return comments.map((c) => (c.id === pendingId(cid) ? { ...c, status: "failed" } : c));
}

export interface MarkerGroup {
  /** Where the group's marker sits (its first comment's time), ms. */
  ms: number;
  /** Where it sits across the waveform, 0-1. */
  x: number;
  /** Its comments, in time order. */
  comments: Comment[];
}

/**
 * The waveform's markers: the pinned comments in time order, a new group wherever a comment is
 * at least `minPx` from the start of the group before it on a waveform `widthPx` wide (so a
 * crowd of comments makes one marker, and markers never overlap).
 */
export function groupMarkers(comments: Comments, durationMs: number, widthPx: number, minPx = 16): MarkerGroup[] {
  if (durationMs <= 0 || widthPx <= 0) return [];
  const pinned = comments
    .filter((c): c is Comment & { track_ms: number } => c.track_ms !== null && c.track_ms <= durationMs)
    .sort((a, b) => a.track_ms - b.track_ms || (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const groups: MarkerGroup[] = [];
  for (const comment of pinned) {
    const last = groups.at(-1);
    const px = (comment.track_ms / durationMs) * widthPx;
    if (last && px - last.x * widthPx < minPx) last.comments.push(comment);
    else groups.push({ ms: comment.track_ms, x: comment.track_ms / durationMs, comments: [comment] });
  }
  return groups;
}

/** How long a comment shows once the playhead passes it. */
export const SHOW_MS = 3000;

/**
 * The comment to show at the playhead: of those pinned in the last `showMs` before it, the
 * latest pinned (and of those pinned at the same moment, the newest), else null.
 */
export function commentAt(comments: Comments, positionMs: number, showMs = SHOW_MS): Comment | null {
  let best: Comment | null = null;
  for (const c of comments) {
    if (c.track_ms === null || c.track_ms > positionMs || positionMs - c.track_ms >= showMs) continue;
    if (!best || c.track_ms > best.track_ms! || (c.track_ms === best.track_ms && c.at >= best.at)) best = c;
  }
  return best;
}
