/** The chat's client state (see model.ts) in one Zustand store, and whether the panel is open. */
import { create } from "zustand";

import { emptyChat, type ChatState, type RoomState } from "./model";

export const useChat = create<ChatState>(() => emptyChat());

/** Apply one of model.ts's functions to the store. */
export function update(change: (state: ChatState) => ChatState): void {
  useChat.setState((state) => change(state), true);
}

const OPEN_KEY = "veza.chat.open";

function savedOpen(): boolean {
  try {
    return localStorage.getItem(OPEN_KEY) === "1";
  } catch {
    return false;
  }
}

interface Panel {
  open: boolean;
  setOpen: (open: boolean) => void;
}

/** The side panel's open state, kept across reloads. */
export const usePanel = create<Panel>((set) => ({
  open: savedOpen(),
  setOpen: (open) => {
    try {
      localStorage.setItem(OPEN_KEY, open ? "1" : "0");
    } catch {
      // private mode: the choice lasts for the page
    }
    set({ open });
  },
}));

/** The user's rooms, direct ones apart, most recently active first. */
export function sortedRooms(rooms: Record<string, RoomState>): RoomState[] {
  const last = (r: RoomState) => r.lines.at(-1)?.at ?? "";
  return Object.values(rooms).sort((a, b) => (last(b) > last(a) ? 1 : last(b) < last(a) ? -1 : (a.info.name ?? "").localeCompare(b.info.name ?? "")));
}

/** Unread messages and mentions over every room but tracks' (their comments are on their pages). */
export function useTotals(): { unread: number; mentions: number } {
  const rooms = useChat((s) => s.rooms);
  let unread = 0;
  let mentions = 0;
  for (const room of Object.values(rooms)) {
    if (room.info.kind === "track") continue;
    unread += room.unread;
    mentions += room.mentions;
  }
  return { unread, mentions };
}
