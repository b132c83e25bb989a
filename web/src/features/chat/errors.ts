/** What a person reads when the gateway refuses a frame (PROTOCOL.md, "Errors"). */
import type { TFunction } from "i18next";

import { FrameError } from "@/features/socket";

import { mutedUntilOf } from "./service";

export function formatWhen(iso: string, lang: string): string {
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}

export function errorText(t: TFunction, error: unknown, lang = "en"): string {
  if (!(error instanceof FrameError)) return t("chat:error.unavailable");
  switch (error.code) {
    case "muted": {
      const until = mutedUntilOf(error.message);
      return until ? t("chat:error.mutedUntil", { until: formatWhen(until, lang) }) : t("chat:error.muted");
    }
    case "rate_limited":
      return t("chat:error.rateLimited", { count: Math.max(1, Math.ceil(error.retryAfter ?? 1)) });
    case "not_found":
    case "not_allowed":
    case "banned":
    case "too_large":
    case "invalid":
    case "disconnected":
    case "timeout":
    case "closed":
      return t(`chat:error.${error.code}`);
    default:
      return t("chat:error.unavailable");
  }
}
