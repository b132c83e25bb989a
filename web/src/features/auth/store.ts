/** Who is signed in: the one piece of session state the app keeps outside TanStack Query. */
import { create } from "zustand";

import type { Me } from "./api/auth";

export type SessionStatus = "restoring" | "signedIn" | "signedOut";

interface Session {
  status: SessionStatus;
  user: Me | null;
  signedIn: (user: Me) => void;
  signedOut: () => void;
}

export const useSession = create<Session>((set) => ({
  status: "restoring",
  user: null,
  signedIn: (user) => set({ status: "signedIn", user }),
  signedOut: () => set({ status: "signedOut", user: null }),
}));

/** The signed-in user, or null. */
export function useCurrentUser(): Me | null {
  return useSession((state) => state.user);
}
