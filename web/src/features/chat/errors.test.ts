import i18n from "@/lib/i18n";
import { FrameError } from "@/features/socket";

import { errorText } from "./errors";
import { mutedUntilOf } from "./service";

const t = i18n.t.bind(i18n);

test("each error code of the gateway reads as what happened and what to do", () => {
  const muted = new FrameError({ code: "muted", message: "you are muted in this room until 2030-01-02T15:04:05.123456+00:00" });
  expect(mutedUntilOf(muted.message)).toBe("2030-01-02T15:04:05.123456+00:00");
  expect(errorText(t, muted, "en")).toMatch(/^You are muted in this room until Jan 2, 2030, \d{1,2}:04/);
  expect(errorText(t, new FrameError({ code: "muted", message: "muted" }), "en")).toBe("You are muted in this room.");
  expect(errorText(t, new FrameError({ code: "rate_limited", message: "slow", retry_after: 2.2 }), "en")).toBe("Too many at once: wait 3 seconds.");
  expect(errorText(t, new FrameError({ code: "rate_limited", message: "slow" }), "en")).toBe("Too many at once: wait 1 second.");
  expect(errorText(t, new FrameError({ code: "banned", message: "x" }), "en")).toBe("You are banned from this room.");
  expect(errorText(t, new FrameError({ code: "too_large", message: "x" }), "en")).toBe("That is too long (4,000 characters at most).");
  expect(errorText(t, new FrameError({ code: "disconnected", message: "x" }), "en")).toMatch(/^The connection was lost/);
  // Something the app does not know yet, or not an error of the gateway at all.
  expect(errorText(t, new FrameError({ code: "brand_new", message: "x" }), "en")).toBe("The chat could not do that just now: try again.");
  expect(errorText(t, new Error("boom"), "en")).toBe("The chat could not do that just now: try again.");
});
