import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { useLocation, useNavigate } from "react-router-dom";

import { onSignedOut } from "@/lib/api";

import { restore } from "../api/auth";
import { useSession } from "../store";

/** Waits before each new attempt while the server does not answer; then the user may retry. */
export const RESTORE_RETRY_DELAYS_MS = [1000, 2000, 4000, 8000];

let booting: Promise<void> | null = null;

async function boot(): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    const restored = await restore();
    const session = useSession.getState();
    if (session.status !== "restoring") return; // signed in or out meanwhile
    if (restored === "signedOut") return session.signedOut();
    if (restored !== "unreachable") return session.signedIn(restored.user);
    // No answer to go by (offline, 429, 5xx): who the user is stays unknown, and we try again.
    const delay = RESTORE_RETRY_DELAYS_MS[attempt];
    if (delay === undefined) return session.restoreFailed("gaveUp");
    session.restoreFailed("retrying");
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Restore the session from the refresh cookie, unless it is known or being restored already. */
export function restoreSession(): void {
  const session = useSession.getState();
  if (session.status !== "restoring") return;
  if (session.restoreTrouble === "gaveUp") session.restoreFailed("retrying");
  booting ??= boot().finally(() => {
    booting = null;
  });
}

/** Once per page load: restore the session from the refresh cookie. */
export function useSessionBoot(): void {
  useEffect(restoreSession, []);
}

/** When the API ends the session (revoked, reused token), go to the login page and say why. */
export function useSignedOutRedirect(): void {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const location = useLocation();
  const here = useRef(location);
  here.current = location;
  useEffect(
    () =>
      onSignedOut((reason) => {
        const wasSignedIn = useSession.getState().status === "signedIn";
        useSession.getState().signedOut();
        queryClient.removeQueries();
        if (wasSignedIn || reason === "session_revoked" || reason === "token_reused") {
          const next = here.current.pathname + here.current.search;
          const params = new URLSearchParams({ reason: reason ?? "signed_out" });
          if (!next.startsWith("/login")) params.set("next", next);
          navigate(`/login?${params.toString()}`);
        }
      }),
    [navigate, queryClient],
  );
}
