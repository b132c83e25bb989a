/**
 * Each open track's comments in one Zustand store, fed by the track's room: joined (made on
 * first join), read back through every history page, then kept current by the chat's live frames.
 * A comment goes out with `resend` (its cid makes a resend after a reconnect harmless).
 */
import { useEffect } from "react";
import { create } from "zustand";

import { joinRoom, onChatFrame } from "@/features/chat";
import { FrameError, newCid, socket, useSocket, type HistoryAck, type SendAck } from "@/features/socket";

import * as model from "./model";

/** History pages read at most when a track's comments open (100 each: the gateway's most). */
const PAGES = 10;
const PAGE = 100;

export interface TrackComments {
  roomId: string | null;
  comments: model.Comments;
  status: "loading" | "ready" | "error";
  error: unknown;
}

const empty: TrackComments = { roomId: null, comments: [], status: "loading", error: null };

export const useComments = create<Record<string, TrackComments>>(() => ({}));

function change(trackId: string, update: (entry: TrackComments) => TrackComments): void {
  useComments.setState((s) => ({ [trackId]: update(s[trackId] ?? empty) }));
}

onChatFrame((frame) => {
  if (!("room_id" in frame)) return;
  for (const [trackId, entry] of Object.entries(useComments.getState())) {
    if (entry.roomId === frame.room_id) change(trackId, (e) => ({ ...e, comments: model.applyFrame(e.comments, frame) }));
  }
});

/** Join the track's room and read its comments (again after a reconnect: what was missed comes in). */
export async function openTrack(trackId: string): Promise<void> {
  change(trackId, (e) => ({ ...e, status: e.status === "ready" ? "ready" : "loading", error: null }));
  try {
    const room = await joinRoom({ track_id: trackId });
    change(trackId, (e) => ({ ...e, roomId: room.id }));
    let before: string | undefined;
    for (let page = 0; page < PAGES; page++) {
      const ack = await socket.request<HistoryAck>({ type: "history", room_id: room.id, limit: PAGE, ...(before ? { before } : {}) });
      change(trackId, (e) => ({ ...e, comments: model.receive(e.comments, ack.messages) }));
      if (!ack.next_before) break;
      before = ack.next_before;
    }
    change(trackId, (e) => ({ ...e, status: "ready" }));
  } catch (error) {
    change(trackId, (e) => ({ ...e, status: e.status === "ready" ? "ready" : "error", error }));
  }
}

/** Post a comment (pinned at `trackMs`, or not): shown at once as pending, then sent. */
export function postComment(trackId: string, author: model.Comment["author"], body: string, trackMs: number | null): Promise<void> {
  const roomId = useComments.getState()[trackId]?.roomId;
  if (!roomId) return Promise.reject(new FrameError({ code: "unavailable", message: "not joined" }));
  const cid = newCid();
  change(trackId, (e) => ({ ...e, comments: model.addPending(e.comments, cid, author, body, trackMs, new Date().toISOString()) }));
  return socket
    .request<SendAck>({ type: "message.send", cid, room_id: roomId, body, ...(trackMs !== null ? { track_ms: trackMs } : {}) }, { resend: true })
    .then(
      (ack) => change(trackId, (e) => ({ ...e, comments: model.acked(e.comments, cid, ack.id, ack.at) })),
      (error: unknown) => {
        change(trackId, (e) => ({ ...e, comments: model.failed(e.comments, cid) }));
        throw error;
      },
    );
}

/** A track's comments, opened while `enabled` (signed in) and again on every new socket. */
export function useTrackComments(trackId: string, enabled: boolean): TrackComments {
  const open = useSocket((s) => s.state === "open");
  useEffect(() => {
    if (enabled && open) void openTrack(trackId);
  }, [trackId, enabled, open]);
  return useComments((s) => s[trackId]) ?? empty;
}
