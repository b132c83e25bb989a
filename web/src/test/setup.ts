import "@testing-library/jest-dom/vitest";

import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

import "@/lib/i18n";

afterEach(() => cleanup());

// jsdom has no ResizeObserver (Radix's slider and the virtualised lists measure with it).
class NoResizeObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
}
globalThis.ResizeObserver ??= NoResizeObserver as unknown as typeof ResizeObserver;

// Tests read the English strings, whatever the machine's language.
import i18n from "@/lib/i18n";
void i18n.changeLanguage("en");
