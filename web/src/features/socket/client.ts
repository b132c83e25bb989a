/**
 * The one chat socket of a signed-in user: it connects to the `chat_url` of GET /api/v1/config
 * with the access token, reconnects with exponential backoff and jitter, and hands every frame
 * to its listeners. A close with 4001 (the session was signed out) stops it and ends the session.
 *
 * Frames that want an answer go through `request`: it gives each a `cid`, waits for the socket
 * to be open, and settles with the `ack` or rejects with a `FrameError`. A request made with
 * `resend` (message.send: the gateway knows its `cid`) outlives a dropped socket and is sent
 * again, with the same `cid`, once the next socket says welcome; the others are rejected.
 * A ping every heartbeat finds a socket that died without a close and replaces it.
 */
import { create } from "zustand";

import { API, getAccessToken, refreshSession, request, sessionEnded } from "@/lib/api";

import { CLOSE, SIGNED_OUT, type AckFrame, type ClientFrame, type ErrorFrame, type ServerFrame } from "./frames";

export type SocketState = "connecting" | "open" | "reconnecting" | "closed";

interface SocketStore {
  state: SocketState;
  /** Failed attempts in a row since the last open socket. */
  attempt: number;
  /** When the next attempt is due (ms since the epoch), while reconnecting. */
  retryAt: number | null;
  /** The close code of the last socket that was lost, until one opens again (null: none). */
  closeCode: number | null;
}

export const useSocket = create<SocketStore>(() => ({ state: "closed", attempt: 0, retryAt: null, closeCode: null }));

/** An `error` frame answering a request, or the socket lost before the answer (`disconnected`). */
export class FrameError extends Error {
  readonly code: string;
  readonly fields: Record<string, string> | undefined;
  /** Seconds to wait, for `rate_limited`. */
  readonly retryAfter: number | undefined;
  constructor(frame: Pick<ErrorFrame, "code" | "message"> & Partial<ErrorFrame>) {
    super(frame.message);
    this.name = "FrameError";
    this.code = frame.code;
    this.fields = frame.fields;
    this.retryAfter = frame.retry_after;
  }
}

/** A client id: unique enough for the gateway's 1-64 characters. */
export function newCid(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** How long a request that is not resent waits for its answer once sent. */
export const ACK_TIMEOUT_MS = 15_000;

interface Pending {
  frame: ClientFrame & { cid: string };
  resend: boolean;
  sent: boolean;
  timer: ReturnType<typeof setTimeout> | null;
  resolve: (ack: AckFrame) => void;
  reject: (error: FrameError) => void;
}

export interface RequestOptions {
  /** Send again with the same cid after a reconnect, never reject for a lost socket. */
  resend?: boolean;
}

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
  private pending = new Map<string, Pending>();
  private pinger: ReturnType<typeof setInterval> | null = null;
  private pingCid: string | null = null;
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

  /**
   * Send a frame that wants an answer; settles with its `ack`, or rejects with a FrameError
   * (the gateway's `error`, `disconnected`, `timeout`, or `closed` once the socket is stopped).
   */
  request<A extends AckFrame = AckFrame>(frame: ClientFrame, options: RequestOptions = {}): Promise<A> {
    const cid = frame.cid ?? newCid();
    return new Promise<A>((resolve, reject) => {
      const previous = this.pending.get(cid);
      previous?.reject(new FrameError({ code: "replaced", message: "sent again" }));
      const entry: Pending = {
        frame: { ...frame, cid } as ClientFrame & { cid: string },
        resend: options.resend ?? false,
        sent: false,
        timer: null,
        resolve: resolve as (ack: AckFrame) => void,
        reject,
      };
      this.pending.set(cid, entry);
      if (this.isOpen) this.transmit(entry);
    });
  }

  /** Send a frame that has no answer (typing, presence.set); false when no socket is open. */
  send(frame: ClientFrame): boolean {
    if (!this.isOpen) return false;
    this.ws!.send(JSON.stringify(frame));
    return true;
  }

  /** The cids of requests not yet answered (messages waiting for their ack among them). */
  get unanswered(): string[] {
    return [...this.pending.keys()];
  }

  private transmit(entry: Pending): void {
    entry.sent = true;
    this.ws!.send(JSON.stringify(entry.frame));
    if (!entry.resend && entry.timer === null) {
      entry.timer = setTimeout(() => this.settle(entry.frame.cid, new FrameError({ code: "timeout", message: "no answer" })), ACK_TIMEOUT_MS);
    }
  }

  private settle(cid: string, outcome: AckFrame | FrameError): void {
    const entry = this.pending.get(cid);
    if (!entry) return;
    this.pending.delete(cid);
    if (entry.timer) clearTimeout(entry.timer);
    if (outcome instanceof FrameError) entry.reject(outcome);
    else entry.resolve(outcome);
  }

  /** The socket is gone: resendable requests wait for the next one, the sent others fail. */
  private lost(): void {
    this.welcomed = false;
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = null;
    this.pingCid = null;
    for (const entry of [...this.pending.values()]) {
      if (entry.resend) entry.sent = false;
      else if (entry.sent) this.settle(entry.frame.cid, new FrameError({ code: "disconnected", message: "connection lost" }));
    }
  }

  private opened(heartbeatS: number): void {
    for (const entry of [...this.pending.values()]) {
      if (!entry.sent) this.transmit(entry);
    }
    if (this.pinger) clearInterval(this.pinger);
    const every = Math.max(1, heartbeatS) * 1000;
    this.pinger = setInterval(() => {
      // The previous ping went unanswered for a whole heartbeat: the socket is dead.
      if (this.pingCid !== null) {
        this.dropped(this.ws, 4000);
        return;
      }
      const cid = `ping-${newCid()}`;
      this.pingCid = cid;
      if (this.ws) this.ws.send(JSON.stringify({ type: "ping", cid }));
    }, every);
  }

  stop(): void {
    this.running = false;
    this.lost();
    for (const entry of [...this.pending.values()]) this.settle(entry.frame.cid, new FrameError({ code: "closed", message: "signed out" }));
    if (typeof window !== "undefined") window.removeEventListener("online", this.onOnline);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    useSocket.setState({ state: "closed", attempt: 0, retryAt: null, closeCode: null });
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
      if (frame.type === "ack" && frame.cid === this.pingCid) {
        this.pingCid = null;
        return;
      }
      if (frame.type === "welcome") {
        this.welcomed = true;
        this.refreshed = false;
        useSocket.setState({ state: "open", attempt: 0, retryAt: null, closeCode: null });
      }
      // Listeners see the welcome before queued requests go out (they may add their own first).
      for (const listener of this.listeners) listener(frame);
      if (frame.type === "welcome") this.opened(frame.heartbeat_s);
      else if ((frame.type === "ack" || frame.type === "error") && frame.cid) {
        this.settle(frame.cid, frame.type === "ack" ? frame : new FrameError(frame));
      }
    };
    ws.onclose = (event) => this.dropped(ws, event.code);
  }

  private dropped(ws: WebSocket | null, code: number): void {
    if (ws === null || ws !== this.ws) return;
    this.ws = null;
    ws.onmessage = null;
    ws.onclose = null;
    if (code === 4000) ws.close(4000);
    this.lost();
    if (!this.running) return;
    useSocket.setState({ closeCode: code === 4000 ? null : code });
    if (code === SIGNED_OUT) {
      this.stop();
      this.deps!.signedOut("signed_out");
      return;
    }
    // The server asked for a pause: start the backoff a few steps up (4 s and more).
    if (code === CLOSE.tryLater || code === CLOSE.rateLimited || code === CLOSE.policy) {
      useSocket.setState((s) => ({ attempt: Math.max(s.attempt, 2) }));
    }
    this.retry();
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
