/**
 * Every string the app shows goes through here: English complete, French second.
 * Each part of the app keeps its strings beside it in `locales/en.json` and `locales/fr.json`
 * (one namespace per folder name: `player:play`); the app's own are in src/locales.
 */
import i18n, { type BackendModule } from "i18next";
import { initReactI18next } from "react-i18next";

type Strings = Record<string, unknown>;

// English (also every language's fallback) comes with the page; another language's strings load
// when it is chosen (i18next waits for them before it switches), or before the first paint when
// it is the saved or the browser's one. They are not in the JavaScript sent before first paint.
const english = import.meta.glob<Strings>(["/src/locales/en.json", "/src/features/*/locales/en.json"], {
  eager: true,
  import: "default",
});
const others = import.meta.glob<Strings>(["/src/locales/*.json", "/src/features/*/locales/*.json", "!**/en.json"], {
  import: "default",
});

export const LANGUAGES = ["en", "fr"] as const;
export type Language = (typeof LANGUAGES)[number];

/** The namespace and language of a strings file: `player` and `fr` for .../player/locales/fr.json. */
function nameOf(path: string): [string, string] | null {
  const match = /\/(?:features\/([^/]+)\/)?locales\/(en|fr)\.json$/.exec(path);
  return match ? [match[1] ?? "translation", match[2]!] : null;
}

const resources: Record<string, Record<string, Strings>> = { en: {} };
for (const [path, strings] of Object.entries(english)) {
  const name = nameOf(path);
  if (name) resources.en![name[0]] = strings;
}
const loaders = new Map<string, () => Promise<Strings>>();
for (const [path, load] of Object.entries(others)) {
  const name = nameOf(path);
  if (name) loaders.set(`${name[1]}/${name[0]}`, load);
}

const lazyStrings: BackendModule = {
  type: "backend",
  init() {},
  read(language, namespace, callback) {
    const load = loaders.get(`${language}/${namespace}`);
    if (!load) return callback(null, {});
    load().then(
      (strings) => callback(null, strings),
      (error: unknown) => callback(error instanceof Error ? error.message : String(error), false),
    );
  },
};

const saved = typeof localStorage !== "undefined" ? localStorage.getItem("veza.lang") : null;
const browser = typeof navigator !== "undefined" ? navigator.language.slice(0, 2) : "en";

const initial = saved === "fr" || saved === "en" ? saved : browser === "fr" ? "fr" : "en";
const ready = i18n.use(lazyStrings).use(initReactI18next).init({
  resources,
  partialBundledLanguages: true,
  // Every namespace, so that a language is loaded whole before the app shows it.
  ns: ["translation", ...new Set([...loaders.keys()].map((key) => key.split("/")[1]!))],
  lng: initial,
  fallbackLng: "en",
  defaultNS: "translation",
  interpolation: { escapeValue: false },
  showSupportNotice: false,
});
/**
 * Null when the reader's language is English (its strings came with the page); else resolves
 * once that language's strings are here: the app waits for it before its first paint.
 */
export const languageReady: Promise<unknown> | null = initial === "en" ? null : ready;

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
