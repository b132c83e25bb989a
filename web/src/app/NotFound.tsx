import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { useTitle } from "@/lib/useTitle";

export function NotFound() {
  const { t } = useTranslation();
  useTitle(t("app.notFound"));
  return (
    <section className="p-4 sm:p-8">
      <h1 className="text-2xl font-semibold">{t("app.notFound")}</h1>
      <Link className="mt-2 inline-block text-violet-700 underline dark:text-violet-300" to="/">
        {t("app.home")}
      </Link>
    </section>
  );
}
