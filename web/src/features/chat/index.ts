/**
 * The chat: the panel beside every page, its own page, and the client the rest of the app
 * builds on (track comments, listening rooms): send frames and await their acks, join rooms,
 * read their history and members, and hear every chat frame.
 */
export { ChatDock, ChatPage, ChatToggle, MessageButton, useChatInset } from "./components/ChatDock";
export { ChatPanel } from "./components/ChatPanel";
export { RoomView } from "./components/RoomView";
export { errorText } from "./errors";
export { MAX_BODY_CHARS, mentionsMe, roomTitle, type Line, type LineStatus, type Member, type RoomState } from "./model";
export {
  ban,
  createRoom,
  deleteMessage,
  discardMessage,
  editMessage,
  invite,
  joinRoom,
  leaveRoom,
  loadOlder,
  markRead,
  mute,
  onChatFrame,
  openDirect,
  openRoom,
  refreshMembers,
  retryMessage,
  sendMessage,
  setRole,
  toggleReaction,
  typing,
  type SendOptions,
} from "./service";
export { useChat, usePanel, useTotals } from "./store";
// The socket underneath, for frames the chat has no helper for (listen.control, say):
// socket.request(frame, { resend }) resolves with the ack or rejects with a FrameError.
export { FrameError, socket } from "@/features/socket";
