/**
 * Gapless playback: consecutive tracks of the queue appended into one Media Source timeline.
 *
 * Every rendition's media timeline starts with the AAC encoder's priming (`priming_samples`),
 * then holds exactly `samples` samples of the track, then the padding of its last frame. A track
 * placed at `start` on the shared timeline gets `timestampOffset = start - priming / rate` and the
 * append window `[start, start + samples / rate)`: the browser cuts the priming (decoding the
 * frame before the window as pre-roll, so the first sample comes out clean) and the padding, and
 * the next track is placed where this one's last sample ends. The join is sample-exact; what
 * remains audible is only what is in the music.
 *
 * hls.js cannot do this (it owns its MediaSource); this chain is a small HLS loader of its own for
 * complete tracks of a queue: one AAC rendition per track, chosen by measured throughput, a bounded
 * buffer ahead and behind, and playlists fetched again when their signed segment URLs expire.
 */
import type { GaplessRendition, StreamSource } from "./types";

/** Seconds of audio fetched ahead of the playhead, and kept behind it. */
export const AHEAD_S = 30;
export const BEHIND_S = 20;
const MIME = 'audio/mp4; codecs="mp4a.40.2"';
const PUMP_EVERY_MS = 1000;
const RETRIES = 3;
const RETRY_MS = 500;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Segment {
  url: string;
  /** Media time (s) of the segment's start and end as its playlist gives them (priming included). */
  start: number;
  end: number;
}

export interface MediaPlaylist {
  init: string;
  segments: Segment[];
  complete: boolean;
}

/** Read an fMP4 media playlist: its init section and its segments, URLs resolved against `base`. */
export function parseMediaPlaylist(text: string, base: string): MediaPlaylist {
  let init: string | null = null;
  let duration: number | null = null;
  let at = 0;
  let complete = false;
  const segments: Segment[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith("#EXT-X-MAP:")) {
      const uri = /URI="([^"]*)"/.exec(line)?.[1];
      if (uri) init = new URL(uri, base).href;
    } else if (line.startsWith("#EXTINF:")) {
      const value = Number.parseFloat(line.slice(8));
      duration = Number.isFinite(value) && value > 0 ? value : null;
    } else if (line === "#EXT-X-ENDLIST") {
      complete = true;
    } else if (!line.startsWith("#")) {
      if (duration === null) throw new Error("playlist: a segment without a duration");
      segments.push({ url: new URL(line, base).href, start: at, end: at + duration });
      at += duration;
      duration = null;
    }
  }
  if (init === null) throw new Error("playlist: no initialisation section (EXT-X-MAP)");
  if (segments.length === 0) throw new Error("playlist: no segments");
  return { init, segments, complete };
}

/** Where a track sits on the shared timeline, and what the append window keeps of it. */
export interface Placement {
  timestampOffset: number;
  windowStart: number;
  windowEnd: number;
}

export function placement(start: number, rendition: Pick<GaplessRendition, "priming" | "samples" | "sampleRate">): Placement {
  return {
    timestampOffset: start - rendition.priming / rendition.sampleRate,
    windowStart: start,
    windowEnd: start + rendition.samples / rendition.sampleRate,
  };
}

/** The renditions of a source the chain can play (AAC with exact sample counts), lightest first. */
export function chainRenditions(source: StreamSource): GaplessRendition[] {
  return (source.renditions ?? [])
    .filter((r) => r.codec === "mp4a.40.2" && r.samples > 0 && r.sampleRate > 0 && r.priming >= 0)
    .sort((a, b) => a.bandwidth - b.bandwidth);
}

/** Whether this browser can run the chain for this source. */
export function canChain(source: StreamSource): boolean {
  return (
    source.complete === true &&
    chainRenditions(source).length > 0 &&
    typeof MediaSource !== "undefined" &&
    MediaSource.isTypeSupported(MIME)
  );
}

/**
 * The rendition for a measured throughput (bits/s): the richest one whose peak bandwidth fits in
 * 70% of it; the lightest when none does; the middle one before anything was measured.
 */
export function pickRendition(renditions: GaplessRendition[], throughput: number | null): GaplessRendition {
  if (renditions.length === 0) throw new Error("no rendition to choose from");
  if (throughput === null) return renditions[Math.floor((renditions.length - 1) / 2)]!;
  let chosen = renditions[0]!;
  for (const r of renditions) if (r.bandwidth <= throughput * 0.7) chosen = r;
  return chosen;
}

/** The index of the segment holding media time `t` (the last one past the end). */
export function segmentAt(segments: Segment[], t: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.start <= t + 1e-6) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export interface ChainTrack {
  source: StreamSource;
  rendition: GaplessRendition;
  /** Timeline seconds of its first and (one past) its last sample. */
  start: number;
  end: number;
  place: Placement;
  playlist: MediaPlaylist | null;
}

export interface ChainEvents {
  /** The playhead passed into the next track. */
  advanced(source: StreamSource): void;
  error(message: string): void;
}

type Fetch = typeof fetch;

/** Seconds between a time and the end of the buffered range holding it (0 when not buffered). */
function bufferedAhead(buffered: TimeRanges, t: number): number {
  for (let i = 0; i < buffered.length; i++) {
    if (buffered.start(i) <= t + 0.05 && t < buffered.end(i)) return buffered.end(i) - t;
  }
  return 0;
}

export class GaplessChain {
  private readonly media = new MediaSource();
  private buffer: SourceBuffer | null = null;
  private readonly objectUrl: string;
  private tracks: ChainTrack[] = [];
  private currentIndex = 0;
  /** The next thing to append: a track of `tracks` and a segment of it. */
  private cursor: { track: ChainTrack; index: number } | null = null;
  private generation = 0;
  private initOf: ChainTrack | null = null;
  private pumping = false;
  private dead = false;
  private throughput: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private boundaryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly opened: Promise<void>;
  /** SourceBuffer operations, one at a time (a second one while it updates would throw). */
  private ops: Promise<void> = Promise.resolve();

  constructor(
    private readonly element: HTMLMediaElement,
    private readonly events: ChainEvents,
    private readonly fetcher: Fetch = (input, init) => fetch(input, init),
  ) {
    this.opened = new Promise((resolve) => this.media.addEventListener("sourceopen", () => resolve(), { once: true }));
    this.objectUrl = URL.createObjectURL(this.media);
    element.src = this.objectUrl;
    this.onTime = this.onTime.bind(this);
    element.addEventListener("timeupdate", this.onTime);
    element.addEventListener("seeking", this.onTime);
  }

  /** The track that plays now. */
  get current(): ChainTrack | null {
    return this.tracks[this.currentIndex] ?? null;
  }

  /** The track placed after the current one, if any. */
  get next(): ChainTrack | null {
    return this.tracks[this.currentIndex + 1] ?? null;
  }

  /** Seconds into the current track. */
  position(): number {
    const track = this.current;
    if (!track) return 0;
    return Math.max(0, Math.min(track.end - track.start, this.element.currentTime - track.start));
  }

  duration(): number {
    const track = this.current;
    return track ? track.end - track.start : 0;
  }

  /** Start the chain with its first track, `startAt` seconds in. */
  async start(source: StreamSource, startAt = 0): Promise<void> {
    await this.opened;
    if (this.dead) return;
    this.buffer = this.media.addSourceBuffer(MIME);
    // Timestamps come from the segments, moved by timestampOffset: never re-sequenced.
    this.buffer.mode = "segments";
    const track = this.place(source, 0);
    this.tracks = [track];
    this.currentIndex = 0;
    this.timer = setInterval(() => void this.pump(), PUMP_EVERY_MS);
    this.seek(startAt);
  }

  private place(source: StreamSource, start: number): ChainTrack {
    const rendition = pickRendition(chainRenditions(source), this.throughput);
    const place = placement(start, rendition);
    return { source, rendition, start, end: place.windowEnd, place, playlist: null };
  }

  /**
   * What plays after the current track (null: nothing). A different next than the one placed
   * replaces it: what was appended of the old one is removed first.
   */
  setNext(source: StreamSource | null): void {
    const current = this.current;
    if (this.dead || !current) return;
    const placed = this.next;
    if (placed && source && placed.source.trackId === source.trackId && placed.source.url === source.url) return;
    if (!placed && !source) return;
    this.tracks = this.tracks.slice(0, this.currentIndex + 1);
    this.generation++;
    if (placed) void this.removeFrom(current.end);
    const after = source ? this.place(source, current.end) : null;
    if (after) this.tracks.push(after);
    // A cursor done with the current track, or on the track just replaced, moves to the new one.
    if (!this.cursor || this.cursor.track === placed) this.cursor = after ? { track: after, index: 0 } : null;
    void this.pump();
  }

  /** Move the playhead to `seconds` into the current track. */
  seek(seconds: number): void {
    const track = this.current;
    if (!track) return;
    const length = track.end - track.start;
    const at = track.start + Math.max(0, Math.min(seconds, Math.max(0, length - 0.01)));
    this.element.currentTime = at;
    this.pointCursorAt(at);
    void this.pump();
  }

  /** Jump to the placed next track (Next pressed): it becomes the current one. */
  skipToNext(startAt = 0): boolean {
    if (!this.next) return false;
    this.currentIndex++;
    this.seek(startAt);
    return true;
  }

  private pointCursorAt(time: number): void {
    this.generation++;
    const buffer = this.buffer;
    // Inside what is buffered, fetching goes on from the end of that range.
    const ahead = buffer ? bufferedAhead(buffer.buffered, time) : 0;
    const from = time + ahead;
    const track =
      this.tracks.slice(this.currentIndex).find((t) => from < t.end - 1e-4) ?? null;
    if (!track) {
      this.cursor = null;
      return;
    }
    const index = track.playlist ? segmentAt(track.playlist.segments, Math.max(from, track.start) - track.place.timestampOffset) : -1;
    this.cursor = { track, index };
  }

  private onTime(): void {
    const current = this.current;
    if (!current || this.dead) return;
    const t = this.element.currentTime;
    const next = this.next;
    if (next && t >= current.end - 0.002) {
      this.currentIndex++;
      // Tracks before the current one are not played again from this chain.
      this.tracks = this.tracks.slice(this.currentIndex);
      this.currentIndex = 0;
      this.events.advanced(next.source);
    } else if (next && current.end - t < 1.5 && !this.boundaryTimer && !this.element.paused) {
      // timeupdate comes every ~250 ms: be on time for the change of track (and its gain).
      this.boundaryTimer = setTimeout(() => {
        this.boundaryTimer = null;
        this.onTime();
      }, Math.max(0, (current.end - t) * 1000 / (this.element.playbackRate || 1)) + 5);
    }
    void this.pump();
  }

  private async playlistOf(track: ChainTrack, again = false): Promise<MediaPlaylist> {
    if (track.playlist && !again) return track.playlist;
    const response = await this.fetcher(track.rendition.playlistUrl, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`playlist: HTTP ${response.status}`);
    track.playlist = parseMediaPlaylist(await response.text(), response.url || track.rendition.playlistUrl);
    return track.playlist;
  }

  /**
   * A segment's bytes. A refused URL (an expired signature) gets the playlist signed again once;
   * a network failure or a 5xx is tried again, three times with growing pauses, as hls.js does.
   */
  private async bytes(track: ChainTrack, url: () => string): Promise<ArrayBuffer> {
    for (let attempt = 0; ; attempt++) {
      const begun = performance.now();
      let response: Response;
      try {
        response = await this.fetcher(url(), { credentials: "omit" });
        if (response.status === 403 || response.status === 401 || response.status === 410) {
          await this.playlistOf(track, true);
          response = await this.fetcher(url(), { credentials: "omit" });
        }
      } catch (error) {
        if (attempt >= RETRIES || this.dead) throw error;
        await pause(RETRY_MS * 2 ** attempt);
        continue;
      }
      if (response.status >= 500 && attempt < RETRIES && !this.dead) {
        await pause(RETRY_MS * 2 ** attempt);
        continue;
      }
      if (!response.ok) throw new Error(`segment: HTTP ${response.status}`);
      const data = await response.arrayBuffer();
      const seconds = (performance.now() - begun) / 1000;
      if (data.byteLength > 16_384 && seconds > 0) {
        const measured = (data.byteLength * 8) / seconds;
        this.throughput = this.throughput === null ? measured : 0.7 * this.throughput + 0.3 * measured;
      }
      return data;
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.dead || !this.buffer) return;
    this.pumping = true;
    try {
      while (!this.dead && this.cursor) {
        const generation = this.generation;
        const { track } = this.cursor;
        const playlist = await this.playlistOf(track);
        if (generation !== this.generation || this.dead) continue;
        if (this.cursor.index < 0) {
          this.cursor.index = segmentAt(playlist.segments, Math.max(this.element.currentTime, track.start) - track.place.timestampOffset);
        }
        const index = this.cursor.index;
        if (index >= playlist.segments.length) {
          const after = this.tracks[this.tracks.indexOf(track) + 1];
          this.cursor = after ? { track: after, index: 0 } : null;
          if (!after) this.finishStream();
          continue;
        }
        const segment = playlist.segments[index]!;
        if (track.place.timestampOffset + segment.start - this.element.currentTime > AHEAD_S) break;
        const needsInit = this.initOf !== track;
        const init = needsInit ? await this.bytes(track, () => track.playlist!.init) : null;
        const data = await this.bytes(track, () => track.playlist!.segments[index]!.url);
        if (generation !== this.generation || this.dead) continue;
        if (init) {
          await this.append(init, track.place);
          this.initOf = track;
        }
        await this.append(data, track.place);
        if (generation === this.generation && this.cursor?.track === track) this.cursor.index = index + 1;
        await this.trimBehind();
      }
    } catch (error) {
      if (!this.dead) this.events.error(error instanceof Error ? error.message : String(error));
    } finally {
      this.pumping = false;
    }
  }

  private finishStream(): void {
    void this.ops.then(() => {
      if (this.dead || this.media.readyState !== "open" || this.buffer?.updating) return;
      try {
        this.media.endOfStream();
      } catch {
        // closing already: nothing more to say
      }
    });
  }

  /** Append with the track's offset and window (setting the offset reopens an ended source). */
  private async append(data: ArrayBuffer, place: Placement): Promise<void> {
    const act = () => {
      const buffer = this.buffer!;
      buffer.timestampOffset = place.timestampOffset;
      buffer.appendWindowEnd = Infinity;
      buffer.appendWindowStart = place.windowStart;
      buffer.appendWindowEnd = place.windowEnd;
      buffer.appendBuffer(data);
    };
    try {
      await this.whenIdle(act);
    } catch (error) {
      if (!(error instanceof DOMException) || error.name !== "QuotaExceededError") throw error;
      await this.trimBehind(5);
      await this.whenIdle(act);
    }
  }

  private whenIdle(act: () => void): Promise<void> {
    const run = this.ops.then(() => this.operate(act));
    this.ops = run.catch(() => undefined);
    return run;
  }

  private operate(act: () => void): Promise<void> {
    const buffer = this.buffer!;
    return new Promise((resolve, reject) => {
      const settle = (error?: Error) => {
        buffer.removeEventListener("updateend", done);
        buffer.removeEventListener("error", failed);
        if (error) reject(error);
        else resolve();
      };
      const done = () => settle();
      const failed = () => settle(new Error("the browser could not decode a segment"));
      if (this.dead || this.media.readyState === "closed") {
        resolve();
        return;
      }
      buffer.addEventListener("updateend", done);
      buffer.addEventListener("error", failed);
      try {
        act();
      } catch (error) {
        settle(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  private async trimBehind(keep = BEHIND_S): Promise<void> {
    const buffer = this.buffer!;
    const until = this.element.currentTime - keep;
    if (buffer.buffered.length === 0 || until <= buffer.buffered.start(0) + 1) return;
    await this.whenIdle(() => buffer.remove(0, until));
  }

  private async removeFrom(time: number): Promise<void> {
    const buffer = this.buffer;
    if (!buffer || this.media.readyState === "closed") return;
    try {
      await this.whenIdle(() => buffer.remove(time, Infinity));
    } catch {
      // a closing source: nothing to remove from
    }
  }

  destroy(): void {
    this.dead = true;
    this.generation++;
    if (this.timer) clearInterval(this.timer);
    if (this.boundaryTimer) clearTimeout(this.boundaryTimer);
    this.element.removeEventListener("timeupdate", this.onTime);
    this.element.removeEventListener("seeking", this.onTime);
    URL.revokeObjectURL(this.objectUrl);
  }
}
