import { describe, expect, test } from "vitest";

import type { ChatMessage } from "@/features/socket";

import { acked, addPending, applyFrame, commentAt, groupMarkers, receive, type Comment } from "./model";

const ada = { id: "u1", handle: "ada" };
const lin = { id: "u2", handle: "lin" };

function message(id: string, trackMs: number | null, extra: Partial<ChatMessage> = {}): ChatMessage {
  return { room_id: "r1", id, cid: null, author: ada, body: `body ${id}`, track_ms: trackMs, reply_to: null, mentions: [], at: `2026-12-04T10:00:${id.slice(-2)}Z`, ...extra };
}

const comment = (id: string, trackMs: number | null, at = `2026-12-04T10:00:${id.slice(-2)}Z`): Comment => ({
  id, cid: null, author: ada, body: id, track_ms: trackMs, at, status: "sent",
});

describe("receive: history pages and live frames make one list", () => {
  test("pages arriving newest first, overlapping, and a live frame give each message once, oldest first", () => {
    let list = receive([], [message("m05", 5000), message("m04", null)]);
    list = applyFrame(list, { type: "message", ...message("m06", 12_000, { author: lin }) });
    list = receive(list, [message("m05", 5000), message("m04", null), message("m03", 1000)]);
    list = applyFrame(list, { type: "message", ...message("m06", 12_000, { author: lin }) });
    expect(list.map((c) => c.id)).toEqual(["m03", "m04", "m05", "m06"]);
    expect(list.find((c) => c.id === "m06")?.author).toEqual(lin);
  });

  test("a deleted message in history drops, and a live delete or edit applies", () => {
    let list = receive([], [message("m01", 0), message("m02", 2000)]);
    list = receive(list, [message("m01", 0, { deleted: true, body: null })]);
    expect(list.map((c) => c.id)).toEqual(["m02"]);
    list = applyFrame(list, { type: "message.edited", room_id: "r1", id: "m02", body: "better", edited_at: "2026-12-04T10:01:00Z" });
    expect(list[0]!.body).toBe("better");
    list = applyFrame(list, { type: "message.deleted", room_id: "r1", id: "m02", deleted_by: "u1" });
    expect(list).toEqual([]);
  });

  test("the live echo of one's own send replaces the pending comment, and the late ack adds nothing", () => {
    let list = addPending(receive([], [message("m01", 0)]), "c1", ada, "hello", 12_000, "2026-12-04T10:00:30Z");
    expect(list.map((c) => c.status)).toEqual(["sent", "pending"]);
    list = applyFrame(list, { type: "message", ...message("m09", 12_000, { cid: "c1", body: "hello" }) });
    list = acked(list, "c1", "m09", "2026-12-04T10:00:31Z");
    expect(list.map((c) => [c.id, c.status, c.track_ms])).toEqual([["m01", "sent", 0], ["m09", "sent", 12_000]]);
  });

  test("an ack before the echo makes the comment sent, and the echo then changes nothing", () => {
    let list = acked(addPending([], "c1", ada, "hello", null, "2026-12-04T10:00:30Z"), "c1", "m09", "2026-12-04T10:00:31Z");
    list = applyFrame(list, { type: "message", ...message("m09", null, { cid: "c1", body: "hello" }) });
    expect(list.map((c) => [c.id, c.status])).toEqual([["m09", "sent"]]);
  });
});

describe("groupMarkers", () => {
  const list = [comment("a01", 12_000), comment("a02", 12_500), comment("a03", 13_900), comment("a04", 60_000), comment("a05", null), comment("a06", 0)];

  test("comments closer than a marker's width on screen share one marker at the first one's time", () => {
    // 100 s over 1000 px: 10 px a second, markers 16 px wide.
    const groups = groupMarkers(list, 100_000, 1000, 16);
    expect(groups.map((g) => [g.ms, g.comments.map((c) => c.id)])).toEqual([
      [0, ["a06"]],
      [12_000, ["a01", "a02"]],
      [13_900, ["a03"]],
      [60_000, ["a04"]],
    ]);
    expect(groups[1]!.x).toBeCloseTo(0.12);
  });

  test("a narrower waveform gathers more of them, a wider one spreads them out", () => {
    expect(groupMarkers(list, 100_000, 200, 16).map((g) => g.comments.length)).toEqual([1, 3, 1]);
    expect(groupMarkers(list, 100_000, 10_000, 16).map((g) => g.comments.length)).toEqual([1, 1, 1, 1, 1]);
  });

  test("unpinned comments, comments past the end and an unknown duration make no marker", () => {
    expect(groupMarkers(list, 20_000, 1000).flatMap((g) => g.comments.map((c) => c.id))).toEqual(["a06", "a01", "a02", "a03"]);
    expect(groupMarkers(list, 0, 1000)).toEqual([]);
    expect(groupMarkers(list, 100_000, 0)).toEqual([]);
  });
});

describe("commentAt: the comment shown at the playhead", () => {
  const list = [comment("b01", 12_000), comment("b02", 14_000), comment("b03", 14_000, "2026-12-04T10:05:00Z"), comment("b04", null)];

  test("nothing before the first comment, then the latest one the playhead passed within 3 s", () => {
    expect(commentAt(list, 11_999)).toBeNull();
    expect(commentAt(list, 12_000)?.id).toBe("b01");
    expect(commentAt(list, 13_999)?.id).toBe("b01");
    // two pinned at the same moment: the newest shows
    expect(commentAt(list, 14_000)?.id).toBe("b03");
    expect(commentAt(list, 16_999)?.id).toBe("b03");
  });

  test("a comment stops showing 3 s after its moment", () => {
    expect(commentAt(list, 17_000)).toBeNull();
    expect(commentAt(list, 13_000, 500)).toBeNull();
  });
});
