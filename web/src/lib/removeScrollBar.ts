/**
 * Stands in for `react-remove-scroll-bar` (used by Radix's dialogs and menus to stop the page
 * scrolling behind them). The original injects a <style> element at run time, which the app's
 * Content-Security-Policy (`style-src 'self'`) refuses; here the same rules live in index.css and
 * only the body's lock attribute and the scroll bar's width (through the CSSOM) are set.
 * vite.config.ts points the package's name here.
 */
import { useEffect } from "react";

export {
  fullWidthClassName,
  noScrollbarsClassName,
  removedBarSizeVariable,
  zeroRightClassName,
} from "react-remove-scroll-bar/constants";

const LOCK = "data-scroll-locked";

function count(): number {
  const n = Number.parseInt(document.body.getAttribute(LOCK) ?? "0", 10);
  return Number.isFinite(n) ? n : 0;
}

export function getGapWidth(): { left: number; top: number; right: number; gap: number } {
  return { left: 0, top: 0, right: 0, gap: Math.max(0, window.innerWidth - document.documentElement.clientWidth) };
}

export function RemoveScrollBar(): null {
  useEffect(() => {
    const body = document.body;
    if (count() === 0) body.style.setProperty("--removed-body-scroll-bar-size", `${getGapWidth().gap}px`);
    body.setAttribute(LOCK, String(count() + 1));
    return () => {
      const left = count() - 1;
      if (left <= 0) {
        body.removeAttribute(LOCK);
        body.style.removeProperty("--removed-body-scroll-bar-size");
      } else {
        body.setAttribute(LOCK, String(left));
      }
    };
  }, []);
  return null;
}
