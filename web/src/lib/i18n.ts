/** Every string the app shows goes through here: English complete, French second. */
import i18n from "i18next";
import { initReactI18next } from "react-i18next";

import en from "@/locales/en.json";
import fr from "@/locales/fr.json";

const saved = typeof localStorage !== "undefined" ? localStorage.getItem("veza.lang") : null;
const browser = typeof navigator !== "undefined" ? navigator.language.slice(0, 2) : "en";

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, fr: { translation: fr } },
  lng: saved ?? (browser === "fr" ? "fr" : "en"),
  fallbackLng: "en",
  interpolation: { escapeValue: false },
  returnNull: false,
});

export function setLanguage(lang: "en" | "fr"): void {
  localStorage.setItem("veza.lang", lang);
  void i18n.changeLanguage(lang);
  document.documentElement.lang = lang;
}

export default i18n;
