import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { useLocation, useNavigate } from "react-router-dom";

import { onSignedOut } from "@/lib/api";

import { restore, type Me } from "../api/auth";
import { useSession } from "../store";

let restoring: Promise<Me | null> | null = null;

/** Once per page load: restore the session from the refresh cookie. */
export function useSessionBoot(): void {
  useEffect(() => {
    restoring ??= restore();
    void restoring.then((user) => {
      const session = useSession.getState();
      if (session.status !== "restoring") return;
      if (user) session.signedIn(user);
      else session.signedOut();
    });
  }, []);
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
