import { backoff, BACKOFF_MAX_MS, secondsLeft, SocketClient, socketUrl, useSocket, type SocketDeps } from "./client";
import { useTrackEvents } from "./events";
import { receiveTrackEvent } from "./events";

class FakeSocket {
  static all: FakeSocket[] = [];
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  closed: number | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
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
