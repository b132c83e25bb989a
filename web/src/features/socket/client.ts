/**
 * The one chat socket of a signed-in user: it connects to the `chat_url` of GET /api/v1/config
 * with the access token, reconnects with exponential backoff and jitter, and hands every frame
 * to its listeners. A close with 4001 (the session was signed out) stops it and ends the session.
 */
import { create } from "zustand";

import { API, getAccessToken, refreshSession, request, sessionEnded } from "@/lib/api";

import { SIGNED_OUT, type ServerFrame } from "./frames";

export type SocketState = "connecting" | "open" | "reconnecting" | "closed";

interface SocketStore {
  state: SocketState;
  /** Failed attempts in a row since the last open socket. */
  attempt: number;
  /** When the next attempt is due (ms since the epoch), while reconnecting. */
  retryAt: number | null;
}

export const useSocket = create<SocketStore>(() => ({ state: "closed", attempt: 0, retryAt: null }));

export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_MAX_MS = 30_000;

/** Delay before attempt `n` (0 = the first retry): base·2ⁿ capped, then half of it jittered. */
export function backoff(n: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** n);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** An absolute ws:// or wss:// URL, whatever `chat_url` is (absolute, or a path like /ws). */
export function socketUrl(chatUrl: string, token: string, base: string = location.href): string {
  const url = new URL(chatUrl, base);
  if (url.protocol === "http:") url.protocol = "ws:";
  if (url.protocol === "https:") url.protocol = "wss:";
  url.searchParams.set("token", token);
  return url.href;
}

/** Seconds until a JWT access token expires (its `exp`); null when it cannot be read. */
export function secondsLeft(token: string, now: number = Date.now()): number | null {
  try {
    const payload = token.split(".")[1];
    if (!payload) return null;
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp - now / 1000 : null;
  } catch {
    return null;
  }
}

/** A token with less than this left is refreshed before a socket is opened with it. */
const MIN_TOKEN_S = 15;

interface ClientConfig {
  chat_url: string;
}

export interface SocketDeps {
  WebSocket: typeof WebSocket;
  random: () => number;
  chatUrl: () => Promise<string>;
  token: () => string | null;
  refresh: () => Promise<boolean>;
  signedOut: (reason: string) => void;
}

let configUrl: Promise<string> | null = null;
const defaultDeps = (): SocketDeps => ({
  WebSocket,
  random: Math.random,
  chatUrl: () => {
    configUrl ??= request<ClientConfig>(`${API}/config`).then((c) => c.chat_url);
    configUrl.catch(() => (configUrl = null));
    return configUrl;
  },
  token: getAccessToken,
  refresh: refreshSession,
  signedOut: sessionEnded,
});

type Listener = (frame: ServerFrame) => void;

export class SocketClient {
  private deps: SocketDeps | null = null;
  private ws: WebSocket | null = null;
  private running = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private listeners = new Set<Listener>();
  private welcomed = false;
  /** Refresh the access token once per outage whose handshake was refused. */
  private refreshed = false;

  constructor(private readonly makeDeps: () => SocketDeps = defaultDeps) {}

  /** Listen to every frame; returns the way to stop listening. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.running) return;
    this.deps ??= this.makeDeps();
    this.running = true;
    useSocket.setState({ attempt: 0, retryAt: null });
    if (typeof window !== "undefined") window.addEventListener("online", this.onOnline);
    void this.connect();
  }

  stop(): void {
    this.running = false;
    if (typeof window !== "undefined") window.removeEventListener("online", this.onOnline);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    useSocket.setState({ state: "closed", attempt: 0, retryAt: null });
  }

  /** Back online: try now rather than at the end of the backoff. */
  private onOnline = () => {
    if (!this.running || this.ws) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.connect();
  };

  private async connect(): Promise<void> {
    const deps = this.deps!;
    const { attempt } = useSocket.getState();
    useSocket.setState({ state: attempt === 0 ? "connecting" : "reconnecting", retryAt: null });
    let url: string;
    try {
      // A refused handshake is most often an expired access token: get a new one first.
      let token = deps.token();
      const left = token ? secondsLeft(token) : null;
      if (!token || (left !== null && left < MIN_TOKEN_S) || (attempt > 0 && !this.refreshed)) {
        this.refreshed = true;
        if (await deps.refresh()) token = deps.token();
      }
      if (!this.running) return;
      if (!token) {
        this.stop();
        return;
      }
      url = socketUrl(await deps.chatUrl(), token);
    } catch {
      this.retry();
      return;
    }
    if (!this.running) return;
    this.welcomed = false;
    const ws = new deps.WebSocket(url);
    this.ws = ws;
    ws.onmessage = (event) => {
      if (ws !== this.ws || typeof event.data !== "string") return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(event.data) as ServerFrame;
      } catch {
        return;
      }
      if (frame.type === "welcome") {
        this.welcomed = true;
        this.refreshed = false;
        useSocket.setState({ state: "open", attempt: 0, retryAt: null });
      }
      for (const listener of this.listeners) listener(frame);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (!this.running) return;
      if (event.code === SIGNED_OUT) {
        this.stop();
        deps.signedOut("signed_out");
        return;
      }
      this.retry();
    };
  }

  private retry(): void {
    if (!this.running) return;
    const attempt = useSocket.getState().attempt;
    const delay = backoff(attempt, this.deps!.random);
    useSocket.setState({ state: "reconnecting", attempt: attempt + 1, retryAt: Date.now() + delay });
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }

  /** Whether the socket has said welcome (is open for business). */
  get isOpen(): boolean {
    return this.welcomed && this.ws !== null;
  }
}

/** The app's one socket. */
export const socket = new SocketClient();
