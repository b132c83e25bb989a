/**
 * Whether the app can reach its server: the browser's own word (offline), or the API's
 * silence (a request that got no answer at all: the server or the way to it is down).
 * The API client reports each answer and each silence; the layout shows what follows.
 */
import { create } from "zustand";

export type ConnectionState = "online" | "offline" | "unreachable";

interface Connection {
  state: ConnectionState;
  /** The server answered at least once since the page was loaded. */
  reached: boolean;
  /** The page was loaded while there was no connection: only a reload brings its pages. */
  stranded: boolean;
}

const browserOffline = () => typeof navigator !== "undefined" && navigator.onLine === false;

export const useConnection = create<Connection>(() => ({
  state: browserOffline() ? "offline" : "online",
  reached: false,
  stranded: browserOffline(),
}));

/** The server answered (whatever the status): it is there. */
export function reportAnswer(): void {
  const { state, reached } = useConnection.getState();
  if (state !== "online" || !reached) useConnection.setState({ state: "online", reached: true });
}

/** A request got no answer (fetch rejected): offline if the browser says so, else unreachable. */
export function reportNoAnswer(): void {
  const { reached, stranded } = useConnection.getState();
  useConnection.setState({ state: browserOffline() ? "offline" : "unreachable", stranded: stranded || !reached });
}

if (typeof window !== "undefined") {
  window.addEventListener("offline", () => useConnection.setState({ state: "offline" }));
  // Back online: the server is presumed there until a request says otherwise.
  window.addEventListener("online", () => useConnection.setState({ state: "online" }));
}
