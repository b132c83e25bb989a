import { useTranslation } from "react-i18next";

import type { PresenceState } from "@/features/socket";
import { cn } from "@/lib/cn";

const dot: Record<PresenceState, string> = {
  online: "bg-emerald-600",
  away: "bg-amber-500",
  offline: "border border-zinc-500 bg-transparent",
};

/** A presence dot, with its state as text for screen readers. */
export function PresenceDot({ state, className }: { state: PresenceState; className?: string }) {
  const { t } = useTranslation("chat");
  return (
    <span className={cn("inline-flex items-center", className)}>
      <span aria-hidden="true" className={cn("inline-block h-2.5 w-2.5 rounded-full", dot[state])} />
      <span className="sr-only">{t(`presence.${state}`)}</span>
    </span>
  );
}

/** A count in a pill (unread or mentions); its meaning is in the label of what it sits on. */
export function Badge({ count, mention }: { count: number; mention?: boolean }) {
  if (count <= 0) return null;
  return (
    <span
      aria-hidden="true"
      className={cn(
        "inline-flex min-w-5 items-center justify-center rounded-full px-1.5 text-xs font-semibold",
        mention ? "bg-red-700 text-white" : "bg-zinc-200 text-zinc-900 dark:bg-zinc-700 dark:text-zinc-100",
      )}
    >
      {mention ? `@${count}` : count > 99 ? "99+" : count}
    </span>
  );
}

export function ChatIcon() {
  return (
    <svg aria-hidden="true" viewBox="0 0 24 24" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth="2">
      <path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12Z" strokeLinejoin="round" />
    </svg>
  );
}

export function formatTime(iso: string, lang: string): string {
  return new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}
