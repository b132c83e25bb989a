import { describe, expect, it } from "vitest";

import { canChain, chainRenditions, parseMediaPlaylist, pickRendition, placement, segmentAt } from "./gapless";
import type { GaplessRendition, StreamSource } from "./types";

// A media playlist as the API hands it out (veza/streaming.py: init and segments signed).
const PLAYLIST = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:7
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="/files/hls/t/aac_128k/init.mp4?expires=9&signature=a"
#EXTINF:6.0,
/files/hls/t/aac_128k/seg_00001.m4s?expires=9&signature=b
#EXTINF:6.0,
/files/hls/t/aac_128k/seg_00002.m4s?expires=9&signature=c
#EXTINF:2.368,
https://objects.example/hls/t/aac_128k/seg_00003.m4s?X-Amz-Signature=d
#EXT-X-ENDLIST
`;

function rendition(name: string, bandwidth: number, extra: Partial<GaplessRendition> = {}): GaplessRendition {
  return { name, codec: "mp4a.40.2", bandwidth, playlistUrl: `/p/${name}`, sampleRate: 48_000, priming: 1024, samples: 480_000, ...extra };
}

describe("the media playlist", () => {
  it("gives the init section and each segment's media times, URLs resolved", () => {
    const p = parseMediaPlaylist(PLAYLIST, "http://veza.test/api/v1/tracks/t/hls/aac_128k/index.m3u8");
    expect(p.init).toBe("http://veza.test/files/hls/t/aac_128k/init.mp4?expires=9&signature=a");
    expect(p.complete).toBe(true);
    expect(p.segments.map((s) => s.url)).toEqual([
      "http://veza.test/files/hls/t/aac_128k/seg_00001.m4s?expires=9&signature=b",
      "http://veza.test/files/hls/t/aac_128k/seg_00002.m4s?expires=9&signature=c",
      "https://objects.example/hls/t/aac_128k/seg_00003.m4s?X-Amz-Signature=d",
    ]);
    expect(p.segments.map((s) => [s.start, s.end])).toEqual([
      [0, 6],
      [6, 12],
      [12, 14.368],
    ]);
  });

  it("refuses a playlist the chain could not play, naming what is missing", () => {
    expect(() => parseMediaPlaylist("#EXTM3U\n#EXTINF:6,\nseg.m4s\n", "http://x/")).toThrow(/EXT-X-MAP/);
    expect(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-MAP:URI="i.mp4"\n', "http://x/")).toThrow(/no segments/);
    expect(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-MAP:URI="i.mp4"\nseg.m4s\n', "http://x/")).toThrow(/duration/);
  });

  it("finds the segment that holds a media time", () => {
    const { segments } = parseMediaPlaylist(PLAYLIST, "http://x/");
    expect(segmentAt(segments, 0)).toBe(0);
    expect(segmentAt(segments, 5.99)).toBe(0);
    expect(segmentAt(segments, 6)).toBe(1);
    expect(segmentAt(segments, 13)).toBe(2);
    expect(segmentAt(segments, 99)).toBe(2);
  });
});

describe("placing tracks on one timeline", () => {
  it("cuts the priming before a track and its padding after, and the next starts where it ends", () => {
    const a = placement(0, { priming: 1024, samples: 397_443, sampleRate: 48_000 });
    expect(a.timestampOffset).toBeCloseTo(-1024 / 48_000, 12);
    expect(a.windowStart).toBe(0);
    expect(a.windowEnd).toBeCloseTo(397_443 / 48_000, 12);
    const b = placement(a.windowEnd, { priming: 1024, samples: 100_000, sampleRate: 48_000 });
    // B's first sample (media time priming/rate) lands exactly on A's end.
    expect(b.timestampOffset + 1024 / 48_000).toBeCloseTo(a.windowEnd, 12);
    expect(b.windowStart).toBe(a.windowEnd);
    // Ten tracks on: still within a microsecond of the sample count.
    let start = 0;
    for (let i = 0; i < 10; i++) start = placement(start, { priming: 1024, samples: 397_443, sampleRate: 48_000 }).windowEnd;
    expect(Math.abs(start * 48_000 - 3_974_430)).toBeLessThan(0.05);
  });
});

describe("choosing what to chain", () => {
  const source = (renditions: GaplessRendition[], complete = true): StreamSource => ({ trackId: "t", url: "/m", gainDb: null, complete, renditions });

  it("keeps AAC renditions with exact sample counts, lightest first", () => {
    const flac = rendition("flac", 900_000, { codec: "fLaC" });
    const unknown = rendition("aac_256k", 260_000, { samples: 0 });
    const list = chainRenditions(source([rendition("aac_128k", 130_000), flac, unknown, rendition("aac_64k", 66_000)]));
    expect(list.map((r) => r.name)).toEqual(["aac_64k", "aac_128k"]);
  });

  it("chains only complete tracks it can describe (jsdom has no MediaSource: never there)", () => {
    expect(canChain(source([rendition("aac_128k", 130_000)]))).toBe(false);
    expect(canChain(source([], true))).toBe(false);
  });

  it("picks the richest rendition that fits the measured throughput", () => {
    const ladder = [rendition("aac_64k", 66_000), rendition("aac_128k", 130_000), rendition("aac_256k", 260_000)];
    expect(pickRendition(ladder, null).name).toBe("aac_128k");
    expect(pickRendition(ladder, 10_000_000).name).toBe("aac_256k");
    expect(pickRendition(ladder, 200_000).name).toBe("aac_128k");
    expect(pickRendition(ladder, 50_000).name).toBe("aac_64k");
  });
});
