/** The chat socket: one per signed-in user; here, what the pipeline's live events need. */
export { SocketConnection } from "./components/SocketConnection";
export { socket, useSocket, type SocketState } from "./client";
export { onTrackEvent, receiveTrackEvent, useTrackEvent } from "./events";
export type { TrackEvent, TrackFailedFrame, TrackProgressFrame, TrackReadyFrame } from "./frames";
