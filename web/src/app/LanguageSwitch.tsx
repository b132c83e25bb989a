import { useTranslation } from "react-i18next";

import { Button } from "@/components/Button";
import { Menu, MenuContent, MenuItemIndicator, MenuRadioGroup, MenuRadioItem, MenuTrigger } from "@/components/Menu";
import { LANGUAGES, setLanguage, type Language } from "@/lib/i18n";

const NAMES: Record<Language, string> = { en: "English", fr: "Français" };

/** English or French: a small button showing the language's code, a menu naming each one. */
export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  const current = (i18n.resolvedLanguage ?? "en") as Language;
  return (
    <Menu>
      <MenuTrigger asChild>
        <Button variant="ghost" size="compact" className="uppercase">
          <span aria-hidden="true">{current}</span>
          <span className="sr-only normal-case">{t("nav.languageIs", { name: NAMES[current] })}</span>
        </Button>
      </MenuTrigger>
      <MenuContent label={t("nav.language")}>
        <MenuRadioGroup value={current} onValueChange={(lang) => setLanguage(lang as Language)}>
          {LANGUAGES.map((lang) => (
            <MenuRadioItem key={lang} value={lang} lang={lang}>
              <span aria-hidden="true" className="w-4">
                <MenuItemIndicator>✓</MenuItemIndicator>
              </span>
              {NAMES[lang]}
            </MenuRadioItem>
          ))}
        </MenuRadioGroup>
      </MenuContent>
    </Menu>
  );
}
