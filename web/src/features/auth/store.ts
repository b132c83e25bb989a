/** Who is signed in: the one piece of session state the app keeps outside TanStack Query. */
import { create } from "zustand";

import type { Me } from "./api/auth";

export type SessionStatus = "restoring" | "signedIn" | "signedOut";

/** While restoring: the server did not answer, and the app is trying again or has given up. */
export type RestoreTrouble = "retrying" | "gaveUp" | null;

interface Session {
  status: SessionStatus;
  user: Me | null;
  restoreTrouble: RestoreTrouble;
  signedIn: (user: Me) => void;
  signedOut: () => void;
  restoreFailed: (trouble: Exclude<RestoreTrouble, null>) => void;
}

export const useSession = create<Session>((set) => ({
  status: "restoring",
  user: null,
  restoreTrouble: null,
  signedIn: (user) => set({ status: "signedIn", user, restoreTrouble: null }),
  signedOut: () => set({ status: "signedOut", user: null, restoreTrouble: null }),
  restoreFailed: (restoreTrouble) => set({ restoreTrouble }),
}));

/** The signed-in user, or null. */
export function useCurrentUser(): Me | null {
  return useSession((state) => state.user);
}
