/**
 * The one module that touches audio: a single media element, hls.js on it where MSE is there
 * (native HLS only where `Hls.isSupported()` is false: Safari/iOS), and a Web Audio graph
 * (element -> loudness gain -> volume -> speakers) made on the first user gesture.
 *
 * The store drives it through the `PlaybackEngine` interface; the UI never sees it.
 * A track that has a next one in the queue plays through the gapless chain instead (gapless.ts:
 * both tracks in one Media Source timeline, the encoder's priming and padding cut by append
 * windows); `preload` names the next track, and the chain says when the playhead passed into it.
 */
import type HlsType from "hls.js";

import { API, getAccessToken, refreshSession } from "@/lib/api";

import { canChain, GaplessChain } from "./gapless";
import type { StreamSource } from "./types";

export interface EngineEvents {
  time(position: number, duration: number): void;
  playing(playing: boolean): void;
  waiting(waiting: boolean): void;
  ended(): void;
  error(message: string): void;
}

export interface LoadOptions {
  autoplay: boolean;
  startAt?: number;
  /** Another track follows in the queue: play through the gapless chain where it can. */
  gapless?: boolean;
}

export interface PlaybackEngine {
  /**
   * Load a source; playback starts at `startAt` seconds if `autoplay`. After the engine reported
   * `ended` because the playhead passed into the preloaded track, loading that track adopts it.
   */
  load(source: StreamSource, options: LoadOptions): Promise<void>;
  play(): Promise<void>;
  pause(): void;
  seek(seconds: number): void;
  setVolume(volume: number, muted: boolean): void;
  /** Loudness normalisation: the track's gain when on, unity when off. */
  setNormalisation(on: boolean): void;
  /** The track that plays next (null: none), so it can follow without a gap. */
  preload(source: StreamSource | null): void;
  /** Stop and forget the current source. */
  stop(): void;
  /** Seconds into the current track, read now (drawing a play head every frame wants it). */
  position(): number;
  /** The media element (null where there is none). */
  readonly element: HTMLMediaElement | null;
}

/** Decibels to a linear gain, held within ±24 dB so a wrong measure cannot deafen anyone. */
export function dbToGain(db: number | null): number {
  if (db === null || !Number.isFinite(db)) return 1;
  return 10 ** (Math.max(-24, Math.min(24, db)) / 20);
}

/**
 * Whether a request of the player carries the access token: the API's own playlists only (same
 * origin, under /api/v1/, `.m3u8`), so a play is counted for the signed-in listener and shows in
 * their history. Never segments or objects (/files/..., a store's presigned URLs): a header they
 * were not signed with can break their signature, and they need no token.
 */
export function sendsToken(url: string, origin: string = window.location.origin): boolean {
  let target: URL;
  try {
    target = new URL(url, origin);
  } catch {
    return false;
  }
  return target.origin === origin && target.pathname.startsWith(`${API}/`) && target.pathname.endsWith(".m3u8");
}

/** Whether a JWT's `exp` is past (with a margin); a token it cannot read is taken as good. */
function expired(token: string, marginS = 10): boolean {
  try {
    const payload = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { exp?: number };
    return typeof claims.exp === "number" && claims.exp * 1000 < Date.now() + marginS * 1000;
  } catch {
    return false;
  }
}

/**
 * hls.js's `xhrSetup`: the bearer token on the API's playlists (see `sendsToken`), refreshed first
 * when it has expired (the API refuses a stale token with 401 rather than count anonymously).
 */
export async function authorisePlaylistRequest(xhr: XMLHttpRequest, url: string): Promise<void> {
  if (!sendsToken(url)) return;
  let token = getAccessToken();
  if (token && expired(token)) {
    await refreshSession();
    token = getAccessToken();
  }
  if (!token) return;
  if (!xhr.readyState) xhr.open("GET", url, true);
  xhr.setRequestHeader("Authorization", `Bearer ${token}`);
}

/** Fetch a track's master playlist for what it does besides listing renditions: count a play. */
async function countPlay(url: string): Promise<void> {
  const headers = new Headers();
  if (sendsToken(url)) {
    let token = getAccessToken();
    if (token && expired(token)) {
      await refreshSession();
      token = getAccessToken();
    }
    if (token) headers.set("Authorization", `Bearer ${token}`);
  }
  await fetch(url, { headers, credentials: "same-origin", cache: "no-store" }).catch(() => undefined);
}

type HlsClass = typeof HlsType;
let hlsModule: Promise<HlsClass> | null = null;
/**
 * hls.js is loaded with the first track, not with the page (it is most of the player's weight);
 * its light build is enough for our master playlists (variants only, no alternate renditions).
 */
function loadHls(): Promise<HlsClass> {
  hlsModule ??= import("hls.js/light").then((m) => m.default);
  return hlsModule;
}

export class MediaElementEngine implements PlaybackEngine {
  readonly element: HTMLAudioElement;
  private hls: HlsType | null = null;
  private chain: GaplessChain | null = null;
  /** The track the chain moved into, until the store loads it. */
  private advanced: StreamSource | null = null;
  private context: AudioContext | null = null;
  private normGain: GainNode | null = null;
  private volumeGain: GainNode | null = null;
  private source: StreamSource | null = null;
  private normalise = true;
  private volume = 1;
  private muted = false;
  private loadId = 0;

  constructor(private readonly events: EngineEvents) {
    const el = document.createElement("audio");
    el.preload = "auto";
    // Web Audio may only read media that is same-origin or CORS-enabled.
    el.crossOrigin = "anonymous";
    el.addEventListener("timeupdate", () => this.emitTime());
    el.addEventListener("durationchange", () => this.emitTime());
    el.addEventListener("seeked", () => this.emitTime());
    el.addEventListener("playing", () => {
      events.waiting(false);
      events.playing(true);
    });
    el.addEventListener("pause", () => events.playing(false));
    el.addEventListener("waiting", () => events.waiting(true));
    el.addEventListener("ended", () => events.ended());
    el.addEventListener("error", () => {
      if (!this.hls && el.error) events.error(el.error.message || "the track cannot be played");
    });
    el.hidden = true;
    document.body.appendChild(el);
    this.element = el;
  }

  position(): number {
    return this.chain ? this.chain.position() : this.element.currentTime;
  }

  private emitTime(): void {
    if (this.chain) {
      this.events.time(this.chain.position(), this.chain.duration());
      return;
    }
    const d = this.element.duration;
    this.events.time(this.element.currentTime, Number.isFinite(d) ? d : 0);
  }

  /** The graph is made inside a user gesture (browsers keep an AudioContext made earlier mute). */
  private ensureGraph(): void {
    if (this.context || typeof AudioContext === "undefined") return;
    try {
      const context = new AudioContext();
      const node = context.createMediaElementSource(this.element);
      this.normGain = context.createGain();
      this.volumeGain = context.createGain();
      node.connect(this.normGain).connect(this.volumeGain).connect(context.destination);
      this.context = context;
      this.applyGains();
    } catch {
      this.context = null; // no Web Audio: the element's own volume still works
    }
  }

  private applyGains(): void {
    const level = this.muted ? 0 : this.volume;
    if (this.context && this.normGain && this.volumeGain) {
      const now = this.context.currentTime;
      this.normGain.gain.setTargetAtTime(this.normalise ? dbToGain(this.source?.gainDb ?? null) : 1, now, 0.02);
      this.volumeGain.gain.setTargetAtTime(level, now, 0.02);
      this.element.volume = 1;
      this.element.muted = false;
    } else {
      this.element.volume = level;
    }
  }

  async load(source: StreamSource, { autoplay, startAt = 0, gapless = false }: LoadOptions): Promise<void> {
    const id = ++this.loadId;
    const chain = this.chain;
    if (chain && this.advanced?.trackId === source.trackId) {
      // The playhead is already in it: nothing to load, only its play to count.
      this.advanced = null;
      this.adopt(source);
      return;
    }
    if (chain?.next && chain.next.source.trackId === source.trackId && chain.skipToNext(startAt)) {
      this.advanced = null;
      this.adopt(source);
      if (autoplay) await this.play();
      return;
    }
    this.detach();
    this.source = source;
    this.applyGains();
    if (autoplay) this.ensureGraph();
    const el = this.element;
    if (gapless && canChain(source)) {
      const started = new GaplessChain(el, {
        advanced: (next) => {
          this.advanced = next;
          this.source = next;
          this.applyGains();
          this.events.ended();
        },
        error: (message) => this.events.error(message),
      });
      this.chain = started;
      void countPlay(source.url);
      await started.start(source, startAt);
      if (id !== this.loadId) return;
      if (autoplay) await this.play();
      return;
    }
    const Hls = await loadHls();
    if (id !== this.loadId) return; // another track was asked for meanwhile
    if (Hls.isSupported()) {
      const hls = new Hls({ startPosition: startAt, enableWorker: true, xhrSetup: authorisePlaylistRequest });
      this.hls = hls;
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
        } else {
          this.events.error(data.details);
        }
      });
      hls.attachMedia(el);
      hls.loadSource(source.url);
    } else if (el.canPlayType("application/vnd.apple.mpegurl")) {
      el.src = source.url;
      if (startAt > 0) el.addEventListener("loadedmetadata", () => (el.currentTime = startAt), { once: true });
    } else {
      this.events.error("this browser cannot play HLS");
      return;
    }
    if (autoplay) await this.play();
  }

  async play(): Promise<void> {
    this.ensureGraph();
    if (this.context?.state === "suspended") await this.context.resume().catch(() => undefined);
    try {
      await this.element.play();
    } catch (error) {
      // An interrupted play (a new load, a pause) is not an error worth showing.
      if (error instanceof DOMException && error.name === "AbortError") return;
      if (error instanceof DOMException && error.name === "NotAllowedError") {
        this.events.playing(false);
        return;
      }
      this.events.error(error instanceof Error ? error.message : String(error));
    }
  }

  pause(): void {
    this.element.pause();
  }

  private adopt(source: StreamSource): void {
    this.source = source;
    this.applyGains();
    void countPlay(source.url);
    this.emitTime();
    this.events.playing(!this.element.paused);
    this.events.waiting(this.element.readyState < HTMLMediaElement.HAVE_FUTURE_DATA);
  }

  seek(seconds: number): void {
    if (this.chain) {
      this.chain.seek(seconds);
      this.emitTime();
      return;
    }
    const d = this.element.duration;
    const max = Number.isFinite(d) ? d : seconds;
    this.element.currentTime = Math.max(0, Math.min(seconds, max));
    this.emitTime();
  }

  setVolume(volume: number, muted: boolean): void {
    this.volume = volume;
    this.muted = muted;
    this.applyGains();
  }

  setNormalisation(on: boolean): void {
    this.normalise = on;
    this.applyGains();
  }

  preload(source: StreamSource | null): void {
    // Only the chain joins tracks; hls.js plays one track at a time. The next track's media
    // playlist is fetched when its turn to be appended comes (fetching it counts no play).
    this.chain?.setNext(source && canChain(source) ? source : null);
  }

  private detach(): void {
    if (this.chain) {
      this.chain.destroy();
      this.chain = null;
    }
    this.advanced = null;
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    this.element.removeAttribute("src");
  }

  stop(): void {
    this.loadId++;
    this.element.pause();
    this.detach();
    this.element.load();
    this.source = null;
    this.events.time(0, 0);
  }
}
