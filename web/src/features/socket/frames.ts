/** The frames of chat/PROTOCOL.md (version 1), typed: what the client sends and what it hears. */

export interface WelcomeFrame {
  type: "welcome";
  conn_id: string;
  user: { id: string; handle: string };
  heartbeat_s: number;
  rooms: string[];
  limits?: { max_frame_bytes: number; max_body_chars: number; messages: unknown; typing_interval_s: number };
}

export type RoomKind = "public" | "private" | "direct" | "track";
export type Role = "owner" | "moderator" | "member";
export type PresenceState = "online" | "away" | "offline";

export interface RoomInfo {
  id: string;
  kind: RoomKind;
  name: string | null;
  topic: string | null;
  track_id: string | null;
}

export interface Author {
  id: string;
  handle: string;
}

/** A message, live (`message` frame) or from history (then with edited_at, deleted, reactions). */
export interface ChatMessage {
  room_id: string;
  id: string;
  cid: string | null;
  author: Author | null;
  body: string | null;
  track_ms: number | null;
  reply_to: string | null;
  mentions: string[];
  at: string;
  edited_at?: string | null;
  deleted?: boolean;
  reactions?: Record<string, string[]>;
}

export interface MemberInfo {
  id: string;
  handle: string;
  role: Role;
  state: PresenceState;
}

/** What the client sends (every field as PROTOCOL.md names it). */
export type ClientFrame =
  | { type: "ping"; cid?: string }
  | { type: "presence.set"; state: "online" | "away"; cid?: undefined }
  | { type: "typing"; room_id: string; cid?: undefined }
  | { type: "room.create"; cid?: string; name: string; kind: "public" | "private"; topic?: string }
  | { type: "room.join"; cid?: string; room_id?: string; track_id?: string }
  | { type: "room.leave"; cid?: string; room_id: string }
  | { type: "room.invite"; cid?: string; room_id: string; user_id: string }
  | { type: "room.role"; cid?: string; room_id: string; user_id: string; role: "moderator" | "member" }
  | { type: "room.members"; cid?: string; room_id: string }
  | { type: "dm.open"; cid?: string; user_id: string }
  | { type: "message.send"; cid?: string; room_id: string; body: string; track_ms?: number; reply_to?: string }
  | { type: "message.edit"; cid?: string; id: string; body: string }
  | { type: "message.delete"; cid?: string; id: string }
  | { type: "reaction.add" | "reaction.remove"; cid?: string; id: string; emoji: string }
  | { type: "history"; cid?: string; room_id: string; before?: string; limit?: number }
  | { type: "read"; cid?: string; room_id: string; up_to: string }
  | { type: "unread"; cid?: string }
  | { type: "mod.mute"; cid?: string; room_id: string; user_id: string; minutes: number }
  | { type: "mod.ban" | "mod.unban"; cid?: string; room_id: string; user_id: string }
  | { type: "listen.control"; cid?: string; room_id: string; action: "play" | "pause" | "seek"; position_ms: number; track_id?: string };

/** An `ack`: its other fields depend on the request (see the ack types below). */
export interface AckFrame {
  type: "ack";
  cid: string;
  [field: string]: unknown;
}

export interface JoinAck extends AckFrame {
  room: RoomInfo;
  online: string[];
  listening: ListenFrame | null;
}
export interface RoomAck extends AckFrame {
  room: RoomInfo;
}
export interface MembersAck extends AckFrame {
  room_id: string;
  members: MemberInfo[];
}
export interface SendAck extends AckFrame {
  id: string;
  at: string;
  duplicate?: boolean;
}
export interface EditAck extends AckFrame {
  id: string;
  edited_at: string;
}
export interface HistoryAck extends AckFrame {
  room_id: string;
  messages: ChatMessage[];
  next_before: string | null;
}
export interface UnreadAck extends AckFrame {
  rooms: { room_id: string; unread: number; mentions: number }[];
}
export interface MuteAck extends AckFrame {
  room_id: string;
  user_id: string;
  muted_until: string;
}

export interface MessageFrame extends ChatMessage {
  type: "message";
}
export interface MessageEditedFrame {
  type: "message.edited";
  room_id: string;
  id: string;
  body: string;
  edited_at: string;
}
export interface MessageDeletedFrame {
  type: "message.deleted";
  room_id: string;
  id: string;
  deleted_by: string;
}
export interface ReactionFrame {
  type: "reaction";
  room_id: string;
  id: string;
  user_id: string;
  emoji: string;
  on: boolean;
}
export interface TypingFrame {
  type: "typing";
  room_id: string;
  user_id: string;
}
export interface PresenceFrame {
  type: "presence";
  user_id: string;
  state: PresenceState;
}
export interface MentionFrame {
  type: "mention";
  room_id: string;
  message: ChatMessage;
}
export interface RoomAddedFrame {
  type: "room.added";
  room: RoomInfo;
}
export interface RoomRemovedFrame {
  type: "room.removed";
  room_id: string;
  reason: string;
}
export interface RoomBannedFrame {
  type: "room.banned";
  room_id: string;
}
export interface MemberFrame {
  type: "member";
  room_id: string;
  user: { id: string; handle: string | null };
  role: Role | null;
  muted_until: string | null;
  banned: boolean;
  left: boolean;
}
export interface ListenFrame {
  type: "listen";
  room_id: string;
  host_id: string;
  track_id: string | null;
  action: "play" | "pause" | "seek";
  position_ms: number;
  at: string;
}

export type ChatFrame =
  | MessageFrame
  | MessageEditedFrame
  | MessageDeletedFrame
  | ReactionFrame
  | TypingFrame
  | PresenceFrame
  | MentionFrame
  | RoomAddedFrame
  | RoomRemovedFrame
  | RoomBannedFrame
  | MemberFrame
  | ListenFrame;

interface TrackEventBase {
  schema: number;
  at: string;
  track_id: string;
  job_id: string | null;
}

export interface TrackProgressFrame extends TrackEventBase {
  type: "track.progress";
  /** Percent, 0-100. */
  progress: number;
}

export interface TrackReadyFrame extends TrackEventBase {
  type: "track.ready";
  duration_s: number;
  renditions: string[];
}

export interface TrackFailedFrame extends TrackEventBase {
  type: "track.failed";
  error: { code: string | null; message: string | null };
}

export interface ErrorFrame {
  type: "error";
  cid: string | null;
  code: string;
  message: string;
  fields?: Record<string, string>;
  retry_after?: number;
}

export type TrackEvent = TrackProgressFrame | TrackReadyFrame | TrackFailedFrame;
export type ServerFrame = WelcomeFrame | AckFrame | ErrorFrame | TrackEvent | ChatFrame;

export function isTrackEvent(frame: { type: string }): frame is TrackEvent {
  return frame.type === "track.progress" || frame.type === "track.ready" || frame.type === "track.failed";
}

/** Close codes with a meaning for the client (PROTOCOL.md, "Close codes"). */
export const SIGNED_OUT = 4001;
export const CLOSE = {
  goingAway: 1001,
  policy: 1008,
  tooLarge: 1009,
  tryLater: 1013,
  signedOut: SIGNED_OUT,
  rateLimited: 4008,
} as const;
