/** The chat socket: one per signed-in user, with requests and acks, and the pipeline's live events. */
export { SocketConnection } from "./components/SocketConnection";
export { ACK_TIMEOUT_MS, FrameError, newCid, socket, useSocket, type RequestOptions, type SocketState } from "./client";
export { onTrackEvent, receiveTrackEvent, useTrackEvent } from "./events";
export { CLOSE } from "./frames";
export type * from "./frames";
