import { useId } from "react";
import { useTranslation } from "react-i18next";

import { inputClass } from "@/components/Field";
import { cn } from "@/lib/cn";
import { LANGUAGES, setLanguage, type Language } from "@/lib/i18n";

const NAMES: Record<Language, string> = { en: "English", fr: "Français" };

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  const id = useId();
  return (
    <div className="flex items-center">
      <label htmlFor={id} className="sr-only">
        {t("nav.language")}
      </label>
      <select
        id={id}
        value={i18n.resolvedLanguage ?? "en"}
        onChange={(e) => setLanguage(e.target.value as Language)}
        className={cn(inputClass, "w-auto py-1 text-sm")}
      >
        {LANGUAGES.map((lang) => (
          <option key={lang} value={lang} lang={lang}>
            {NAMES[lang]}
          </option>
        ))}
      </select>
    </div>
  );
}
