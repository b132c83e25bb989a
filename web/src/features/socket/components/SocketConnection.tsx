import { useEffect } from "react";
import { useTranslation } from "react-i18next";

import { toast } from "@/components/Toast";
import { useSession } from "@/features/auth";
import { API, request } from "@/lib/api";

import { socket, useSocket } from "../client";
import { CLOSE } from "../frames";

/** What each close code the client may hear means to the reader (4001 goes to the sign-in page). */
const CLOSE_REASONS: Record<number, string> = {
  [CLOSE.goingAway]: "close.goingAway",
  [CLOSE.policy]: "close.policy",
  [CLOSE.tooLarge]: "close.tooLarge",
  [CLOSE.tryLater]: "close.tryLater",
  [CLOSE.rateLimited]: "close.rateLimited",
};
import { onTrackEvent } from "../events";

async function titleOf(trackId: string): Promise<string | null> {
  try {
    return (await request<{ title: string }>(`${API}/tracks/${encodeURIComponent(trackId)}`)).title;
  } catch {
    return null;
  }
}

/**
 * Keeps the chat socket open while someone is signed in, shows a toast when one of their
 * tracks is ready or failed, and says when the connection is lost. Mount once in the layout.
 */
export function SocketConnection() {
  const { t } = useTranslation("socket");
  const signedIn = useSession((s) => s.status === "signedIn");
  const state = useSocket((s) => s.state);
  const closeCode = useSocket((s) => s.closeCode);

  useEffect(() => {
    if (!signedIn) return;
    socket.start();
    return () => socket.stop();
  }, [signedIn]);

  useEffect(
    () =>
      onTrackEvent((event) => {
        if (event.type === "track.progress") return;
        void titleOf(event.track_id).then((title) => {
          const name = title ?? t("yourTrack");
          toast(
            event.type === "track.ready"
              ? t("ready", { title: name })
              : t("failed", { title: name, reason: event.error.message || event.error.code || t("unknown") }),
          );
        });
      }),
    [t],
  );

  if (!signedIn || state === "open" || state === "closed" || state === "connecting") return null;
  return (
    <p role="status" className="fixed left-1/2 top-2 z-50 -translate-x-1/2 rounded-full bg-amber-100 px-3 py-1 text-sm text-amber-900 shadow dark:bg-amber-900 dark:text-amber-50">
      {closeCode !== null && closeCode in CLOSE_REASONS ? `${t(CLOSE_REASONS[closeCode]!)} ` : ""}
      {t("reconnecting")}
    </p>
  );
}
