import { ACK_TIMEOUT_MS, backoff, BACKOFF_MAX_MS, FrameError, secondsLeft, SocketClient, socketUrl, useSocket, type SocketDeps } from "./client";
import { useTrackEvents } from "./events";
import { receiveTrackEvent } from "./events";

class FakeSocket {
  static all: FakeSocket[] = [];
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  closed: number | null = null;
  sent: Record<string, unknown>[] = [];
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  frame(frame: object) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  close(code: number) {
    this.closed = code;
  }
  // what the server does
  welcome() {
    this.onmessage?.({ data: JSON.stringify({ type: "welcome", conn_id: "c", user: { id: "u", handle: "h" }, heartbeat_s: 20, rooms: [] }) });
  }
  drop(code = 1006) {
    this.onclose?.({ code });
  }
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1]!;
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

function client(overrides: Partial<SocketDeps> = {}) {
  FakeSocket.all = [];
  const deps: SocketDeps = {
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    random: () => 1, // the top of each jitter range
    chatUrl: async () => "/ws",
    token: () => "tok",
    refresh: vi.fn(async () => true),
    signedOut: vi.fn(),
    ...overrides,
  };
  return { c: new SocketClient(() => deps), deps };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

test("backoff doubles up to a ceiling and is jittered within its upper half", () => {
  expect(backoff(0, () => 1)).toBe(1000);
  expect(backoff(1, () => 1)).toBe(2000);
  expect(backoff(3, () => 0)).toBe(4000);
  expect(backoff(20, () => 1)).toBe(BACKOFF_MAX_MS);
  expect(backoff(20, () => 0)).toBe(BACKOFF_MAX_MS / 2);
});

test("the URL carries the token and turns a path into ws:// on the page's origin", () => {
  expect(socketUrl("/ws", "a b", "http://localhost:5173/upload")).toBe("ws://localhost:5173/ws?token=a+b");
  expect(socketUrl("ws://127.0.0.1:8001/ws", "t", "https://x.example/")).toBe("ws://127.0.0.1:8001/ws?token=t");
  expect(socketUrl("/ws", "t", "https://x.example/")).toBe("wss://x.example/ws?token=t");
});

test("a dropped socket reconnects after 1 s, 2 s, 4 s... and the state says so", async () => {
  const { c } = client();
  c.start();
  await flush();
  expect(useSocket.getState().state).toBe("connecting");
  last().welcome();
  expect(useSocket.getState().state).toBe("open");

  last().drop();
  expect(useSocket.getState().state).toBe("reconnecting");
  expect(FakeSocket.all).toHaveLength(1);
  await vi.advanceTimersByTimeAsync(999);
  expect(FakeSocket.all).toHaveLength(1);
  await vi.advanceTimersByTimeAsync(1);
  await flush();
  expect(FakeSocket.all).toHaveLength(2);

  last().drop(); // refused again, before any welcome
  await vi.advanceTimersByTimeAsync(1999);
  expect(FakeSocket.all).toHaveLength(2);
  await vi.advanceTimersByTimeAsync(1);
  await flush();
  expect(FakeSocket.all).toHaveLength(3);

  last().drop();
  await vi.advanceTimersByTimeAsync(4000);
  await flush();
  expect(FakeSocket.all).toHaveLength(4);
  expect(useSocket.getState()).toMatchObject({ state: "reconnecting", attempt: 3 });

  // Open again: the backoff starts over.
  last().welcome();
  expect(useSocket.getState()).toMatchObject({ state: "open", attempt: 0 });
  last().drop();
  await vi.advanceTimersByTimeAsync(1000);
  await flush();
  expect(FakeSocket.all).toHaveLength(5);
  c.stop();
  expect(useSocket.getState().state).toBe("closed");
  expect(last().closed).toBe(1000);
});

test("a refused handshake refreshes the access token once before trying again", async () => {
  let token = "old";
  const refresh = vi.fn(async () => {
    token = "new";
    return true;
  });
  const { c } = client({ token: () => token, refresh });
  c.start();
  await flush();
  expect(last().url).toContain("token=old");
  last().drop();
  await vi.advanceTimersByTimeAsync(1000);
  await flush();
  expect(refresh).toHaveBeenCalledTimes(1);
  expect(last().url).toContain("token=new");
  last().drop();
  await vi.advanceTimersByTimeAsync(2000);
  await flush();
  expect(refresh).toHaveBeenCalledTimes(1);
  c.stop();
});

test("4001 (signed out) stops reconnecting and ends the session", async () => {
  const { c, deps } = client();
  c.start();
  await flush();
  last().welcome();
  last().drop(4001);
  expect(useSocket.getState().state).toBe("closed");
  expect(deps.signedOut).toHaveBeenCalledWith("signed_out");
  await vi.advanceTimersByTimeAsync(60_000);
  expect(FakeSocket.all).toHaveLength(1);
});

test("no session: the socket does not connect", async () => {
  const { c } = client({ token: () => null, refresh: async () => false });
  c.start();
  await flush();
  expect(FakeSocket.all).toHaveLength(0);
  expect(useSocket.getState().state).toBe("closed");
});

test("the config endpoint failing is retried with the same backoff", async () => {
  let fail = true;
  const { c } = client({ chatUrl: async () => (fail ? Promise.reject(new Error("503")) : "/ws") });
  c.start();
  await flush();
  expect(useSocket.getState().state).toBe("reconnecting");
  fail = false;
  await vi.advanceTimersByTimeAsync(1000);
  await flush();
  expect(FakeSocket.all).toHaveLength(1);
  c.stop();
});

test("pipeline events reach listeners; a late progress frame never undoes the end", async () => {
  const { c } = client();
  const frames: string[] = [];
  c.on((f) => frames.push(f.type));
  c.start();
  await flush();
  last().welcome();
  last().onmessage?.({ data: JSON.stringify({ type: "track.progress", track_id: "t1", progress: 40 }) });
  expect(frames).toEqual(["welcome", "track.progress"]);
  c.stop();

  receiveTrackEvent({ type: "track.ready", schema: 1, at: "", track_id: "t2", job_id: null, duration_s: 1, renditions: [] });
  receiveTrackEvent({ type: "track.progress", schema: 1, at: "", track_id: "t2", job_id: null, progress: 90 });
  expect(useTrackEvents.getState().latest.t2?.type).toBe("track.ready");
});

const jwt = (claims: object) => `h.${btoa(JSON.stringify(claims)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")}.s`;

test("a token about to expire is refreshed before the socket opens with it", async () => {
  const now = Date.now() / 1000;
  expect(secondsLeft(jwt({ exp: now + 100 }))).toBeCloseTo(100, 0);
  expect(secondsLeft("not a jwt")).toBeNull();
  let token = jwt({ exp: now + 5 });
  const fresh = jwt({ exp: now + 300 });
  const refresh = vi.fn(async () => {
    token = fresh;
    return true;
  });
  const { c } = client({ token: () => token, refresh });
  c.start();
  await flush();
  expect(refresh).toHaveBeenCalledTimes(1);
  expect(last().url).toContain(`token=${fresh}`);
  c.stop();
});

test("a request waits for the open socket, then settles with its ack or its error", async () => {
  const { c } = client();
  c.start();
  const joined = c.request({ type: "room.join", room_id: "r1" });
  const refused = c.request({ type: "message.send", room_id: "r1", body: "x".repeat(10) });
  await flush();
  expect(last().sent).toEqual([]); // no welcome yet
  last().welcome();
  const [join, send] = last().sent as { cid: string; type: string }[];
  expect([join!.type, send!.type]).toEqual(["room.join", "message.send"]);
  expect(join!.cid).not.toBe(send!.cid);
  last().frame({ type: "ack", cid: join!.cid, room: { id: "r1" } });
  last().frame({ type: "error", cid: send!.cid, code: "rate_limited", message: "slow down", retry_after: 3 });
  await expect(joined).resolves.toMatchObject({ room: { id: "r1" } });
  const error = await refused.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(FrameError);
  expect(error).toMatchObject({ code: "rate_limited", retryAfter: 3 });
  c.stop();
});

test("a message outlives a dropped socket and goes again with its cid; other requests fail", async () => {
  const { c } = client();
  c.start();
  await flush();
  last().welcome();
  const sent = c.request({ type: "message.send", cid: "m-1", room_id: "r1", body: "hello" }, { resend: true });
  const history = c.request({ type: "history", room_id: "r1" });
  let failed: unknown = null;
  history.catch((e: unknown) => (failed = e));
  expect(last().sent.map((f) => f.type)).toEqual(["message.send", "history"]);

  last().drop(); // the ack never came
  await flush();
  expect(failed).toMatchObject({ code: "disconnected" });
  // Typed while reconnecting: queued, not lost.
  const typed = c.request({ type: "message.send", cid: "m-2", room_id: "r1", body: "still there?" }, { resend: true });
  expect(c.unanswered).toEqual(["m-1", "m-2"]);
  await vi.advanceTimersByTimeAsync(1000);
  await flush();
  last().welcome();
  expect(last().sent).toEqual([
    { type: "message.send", cid: "m-1", room_id: "r1", body: "hello" },
    { type: "message.send", cid: "m-2", room_id: "r1", body: "still there?" },
  ]);
  last().frame({ type: "ack", cid: "m-1", id: "id-1", at: "t", duplicate: true });
  last().frame({ type: "ack", cid: "m-2", id: "id-2", at: "t" });
  await expect(sent).resolves.toMatchObject({ id: "id-1", duplicate: true });
  await expect(typed).resolves.toMatchObject({ id: "id-2" });
  expect(c.unanswered).toEqual([]);
  c.stop();
});

test("a request without an answer fails after a while; stopping fails what is left", async () => {
  const { c } = client();
  c.start();
  await flush();
  last().welcome();
  const unanswered = c.request({ type: "unread" }).catch((e: unknown) => e);
  await vi.advanceTimersByTimeAsync(ACK_TIMEOUT_MS);
  expect(await unanswered).toMatchObject({ code: "timeout" });
  const queued = c.request({ type: "message.send", room_id: "r", body: "b" }, { resend: true }).catch((e: unknown) => e);
  c.stop();
  expect(await queued).toMatchObject({ code: "closed" });
});

test("1013 (retry later) is remembered and waits longer before the next attempt", async () => {
  const { c } = client();
  c.start();
  await flush();
  last().welcome();
  last().drop(1013);
  expect(useSocket.getState()).toMatchObject({ state: "reconnecting", closeCode: 1013, attempt: 3 });
  await vi.advanceTimersByTimeAsync(3999); // 4 s, not the 1 s of a first retry
  expect(FakeSocket.all).toHaveLength(1);
  await vi.advanceTimersByTimeAsync(1);
  await flush();
  expect(FakeSocket.all).toHaveLength(2);
  last().welcome();
  expect(useSocket.getState()).toMatchObject({ state: "open", closeCode: null });
  c.stop();
});

test("a socket that stops answering pings is replaced", async () => {
  const { c } = client();
  c.start();
  await flush();
  last().welcome(); // heartbeat_s: 20
  await vi.advanceTimersByTimeAsync(20_000);
  const ping = last().sent.at(-1) as { type: string; cid: string };
  expect(ping.type).toBe("ping");
  last().frame({ type: "ack", cid: ping.cid });
  await vi.advanceTimersByTimeAsync(20_000); // answered: a new ping
  expect(FakeSocket.all).toHaveLength(1);
  await vi.advanceTimersByTimeAsync(20_000); // this one was not
  expect(last().closed).toBe(4000);
  expect(useSocket.getState().state).toBe("reconnecting");
  await vi.advanceTimersByTimeAsync(1000);
  await flush();
  expect(FakeSocket.all).toHaveLength(2);
  c.stop();
});
