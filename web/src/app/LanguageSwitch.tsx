import { DropdownMenu } from "radix-ui";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/Button";
import { Menu, MenuContent, MenuTrigger } from "@/components/Menu";
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
        <DropdownMenu.RadioGroup value={current} onValueChange={(lang) => setLanguage(lang as Language)}>
          {LANGUAGES.map((lang) => (
            <DropdownMenu.RadioItem
              key={lang}
              value={lang}
              lang={lang}
              className="flex cursor-pointer select-none items-center gap-2 rounded px-3 py-2 text-sm outline-none data-[highlighted]:bg-violet-100 data-[highlighted]:text-violet-950 dark:data-[highlighted]:bg-violet-900 dark:data-[highlighted]:text-white"
            >
              <span aria-hidden="true" className="w-4">
                <DropdownMenu.ItemIndicator>✓</DropdownMenu.ItemIndicator>
              </span>
              {NAMES[lang]}
            </DropdownMenu.RadioItem>
          ))}
        </DropdownMenu.RadioGroup>
      </MenuContent>
    </Menu>
  );
}
