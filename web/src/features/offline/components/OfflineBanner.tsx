import { onlineManager, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";

import { reportAnswer, useConnection } from "@/lib/connection";

/** Waits between asks whether the server answers again, while it does not (then the last). */
export const PROBE_DELAYS_MS = [2000, 4000, 8000, 15000];

/**
 * While the connection is gone, asks the server now and then whether it is back (the browser
 * tells of its own network coming back; not of a server that restarted).
 */
function useProbe(unreachable: boolean) {
  useEffect(() => {
    if (!unreachable) return;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout>;
    const ask = () => {
      timer = setTimeout(() => {
        fetch("/healthz", { cache: "no-store" }).then(
          () => reportAnswer(),
          () => {
            attempt += 1;
            ask();
          },
        );
      }, PROBE_DELAYS_MS[Math.min(attempt, PROBE_DELAYS_MS.length - 1)]);
    };
    ask();
    return () => clearTimeout(timer);
  }, [unreachable]);
}

/**
 * Under the header while the app has no connection: says so (politely, to a screen reader
 * too). Queries wait meanwhile; once back, the pages ask again for what they lacked.
 */
export function OfflineBanner() {
  const { t } = useTranslation("offline");
  const queryClient = useQueryClient();
  const state = useConnection((s) => s.state);
  const stranded = useConnection((s) => s.stranded);
  const was = useRef(state);
  useProbe(state === "unreachable");
  useEffect(() => {
    // TanStack Query pauses its queries while the browser is offline and runs them again when
    // it is back; a server that answers again is news to it: the pages ask again.
    onlineManager.setOnline(state !== "offline");
    if (was.current === "unreachable" && state === "online") void queryClient.invalidateQueries();
    was.current = state;
  }, [state, queryClient]);
  // The offline page says it all when the app was opened without a connection.
  const text = stranded || state === "online" ? null : t(`banner.${state}`);
  return (
    <div role="status" className={text ? "border-b border-amber-300 bg-amber-50 text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-50" : undefined}>
      {text ? <p className="mx-auto max-w-6xl px-3 py-2 text-sm font-medium sm:px-4">{text}</p> : null}
    </div>
  );
}
