import { useLiveTracks } from "@/features/library";
import { PlayerBar, ShortcutsDialog } from "@/features/player";
import { SocketConnection } from "@/features/socket";

/**
 * The bottom of the layout: the persistent player bar, and the app-wide pieces mounted once
 * beside it (the keyboard shortcuts and their "?" list, the chat socket of the signed-in user).
 */
export function PlayerBarSlot() {
  useLiveTracks();
  return (
    <>
      <PlayerBar />
      <ShortcutsDialog />
      <SocketConnection />
    </>
  );
}
