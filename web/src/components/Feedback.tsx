import { useTranslation } from "react-i18next";

import { ApiError } from "@/lib/api";

/** An error as a sentence in place (problem+json's detail, or a generic line). */
export function ErrorMessage({ error, className }: { error: unknown; className?: string }) {
  const { t } = useTranslation();
  if (!error) return null;
  const text = error instanceof ApiError ? error.message : t("app.error");
  return (
    <p role="alert" className={className ?? "rounded-md border border-red-300 bg-red-50 p-3 text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200"}>
      {text}
    </p>
  );
}

export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <p role="status" className="p-4 text-zinc-600 dark:text-zinc-400">
      {label ?? t("app.loading")}
    </p>
  );
}

export function Empty({ children }: { children: React.ReactNode }) {
  return <p className="rounded-md border border-dashed border-zinc-300 p-6 text-center text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">{children}</p>;
}
