import { useTranslation } from "react-i18next";

import { Button } from "@/components/Button";
import { useConnection } from "@/lib/connection";
import { useTitle } from "@/lib/useTitle";

/** Reload the page (a test replaces it: jsdom cannot reload). */
export const retry = { reload: () => window.location.reload() };

/**
 * In place of a page the app could not load: the connection (or the server) was gone when it
 * was opened. It says so and what still works; "Try again" loads the page afresh.
 */
export function OfflinePage() {
  const { t } = useTranslation("offline");
  const state = useConnection((s) => s.state);
  const which = state === "unreachable" ? "unreachable" : "offline";
  useTitle(t(`${which}.title`));
  return (
    <section aria-labelledby="offline-title" className="flex max-w-prose flex-col items-start gap-4 p-4 sm:p-8">
      <h1 id="offline-title" className="text-2xl font-semibold">
        {t(`${which}.title`)}
      </h1>
      <p>{t(`${which}.body`)}</p>
      <p role="status" className="font-medium text-violet-800 dark:text-violet-300">
        {state === "online" ? t("offline.back") : null}
      </p>
      <div>
        <h2 className="text-lg font-semibold">{t("works")}</h2>
        <ul className="mt-1 list-disc pl-5 text-zinc-700 dark:text-zinc-300">
          <li>{t("worksShell")}</li>
          <li>{t("worksLater")}</li>
        </ul>
      </div>
      <Button onClick={() => retry.reload()}>{t("retry")}</Button>
    </section>
  );
}
