/** The frames of chat/PROTOCOL.md this app uses (the pipeline's events), typed. */

export interface WelcomeFrame {
  type: "welcome";
  conn_id: string;
  user: { id: string; handle: string };
  heartbeat_s: number;
  rooms: string[];
}

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
}

export type TrackEvent = TrackProgressFrame | TrackReadyFrame | TrackFailedFrame;
export type ServerFrame = WelcomeFrame | TrackEvent | ErrorFrame;

export function isTrackEvent(frame: { type: string }): frame is TrackEvent {
  return frame.type === "track.progress" || frame.type === "track.ready" || frame.type === "track.failed";
}

/** Close codes with a meaning for the client (PROTOCOL.md, "Close codes"). */
export const SIGNED_OUT = 4001;
