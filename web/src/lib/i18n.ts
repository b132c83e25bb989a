/**
 * Every string the app shows goes through here: English complete, French second.
 * Each part of the app keeps its strings beside it in `locales/en.json` and `locales/fr.json`
 * (one namespace per folder name: `player:play`); the app's own are in src/locales.
 */
import i18n from "i18next";
import { initReactI18next } from "react-i18next";

type Strings = Record<string, unknown>;

const files = import.meta.glob<Strings>(["/src/locales/*.json", "/src/features/*/locales/*.json"], {
  eager: true,
  import: "default",
});

export const LANGUAGES = ["en", "fr"] as const;
export type Language = (typeof LANGUAGES)[number];

const resources: Record<string, Record<string, Strings>> = { en: {}, fr: {} };
for (const [path, strings] of Object.entries(files)) {
  const match = /\/(?:features\/([^/]+)\/)?locales\/(en|fr)\.json$/.exec(path);
  if (!match) continue;
  const [, feature, lang] = match;
  resources[lang as Language]![feature ?? "translation"] = strings;
}

const saved = typeof localStorage !== "undefined" ? localStorage.getItem("veza.lang") : null;
const browser = typeof navigator !== "undefined" ? navigator.language.slice(0, 2) : "en";

void i18n.use(initReactI18next).init({
  resources,
  lng: saved === "fr" || saved === "en" ? saved : browser === "fr" ? "fr" : "en",
  fallbackLng: "en",
  defaultNS: "translation",
  interpolation: { escapeValue: false },
  showSupportNotice: false,
});

// The page says which language it is in (screen readers pronounce it accordingly).
i18n.on("languageChanged", (lang) => {
  if (typeof document !== "undefined") document.documentElement.lang = lang;
});
if (typeof document !== "undefined") document.documentElement.lang = i18n.language;

export function setLanguage(lang: Language): void {
  localStorage.setItem("veza.lang", lang);
  void i18n.changeLanguage(lang);
  document.documentElement.lang = lang;
}

export default i18n;
