import { useTranslation } from "react-i18next";

import { Button } from "@/components/Button";
import { Loading } from "@/components/Feedback";

import { restoreSession } from "../hooks/useSessionBoot";
import { useSession } from "../store";

/** In place of the page while the session is restored: loading, or why it takes so long. */
export function SessionRestoring() {
  const { t } = useTranslation("auth");
  const trouble = useSession((s) => s.restoreTrouble);
  if (trouble === "retrying") return <Loading label={t("restore.retrying")} />;
  if (trouble === "gaveUp") {
    return (
      <section className="flex flex-col items-start gap-3 p-4">
        <p role="alert" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
          {t("restore.gaveUp")}
        </p>
        <Button onClick={restoreSession}>{t("restore.retry")}</Button>
      </section>
    );
  }
  return <Loading />;
}
