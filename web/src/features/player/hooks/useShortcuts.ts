import { useEffect } from "react";

import { SEEK_STEP_S, usePlayer } from "../store";

const TYPING_ROLES = new Set(["textbox", "searchbox", "combobox", "spinbutton"]);
const ARROW_ROLES = new Set(["slider", "radio", "radiogroup", "tab", "tablist", "listbox", "option", "menu", "menuitem", "menuitemradio", "menuitemcheckbox", "grid", "tree"]);
const NAVIGATION_KEYS = new Set([" ", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"]);

/** Whether the focused element uses this key itself (typing; arrows on a slider; space on a button). */
function handlesKeys(target: EventTarget | null, key: string): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  const role = target.getAttribute("role") ?? "";
  if (target.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || TYPING_ROLES.has(role)) return true;
  if (ARROW_ROLES.has(role)) return NAVIGATION_KEYS.has(key);
  if (key === " " && (tag === "BUTTON" || tag === "A" || tag === "SUMMARY" || role === "button" || role === "switch" || role === "checkbox" || role === "link")) {
    return true;
  }
  return false;
}

/**
 * The app-wide shortcuts (not while typing): space play/pause, ←/→ seek 5 s, shift+←/→
 * previous/next, m mute, / focus the search box, ? the list of shortcuts.
 */
export function useShortcuts(openHelp: () => void): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      if (handlesKeys(event.target, event.key)) return;
      // A dialog owns the keyboard while open (Escape closes it).
      if (document.querySelector("[role=dialog][data-state=open], [role=alertdialog]")) return;
      const player = usePlayer.getState();
      switch (event.key) {
        case " ":
          player.toggle();
          break;
        case "ArrowLeft":
          if (event.shiftKey) player.previous();
          else player.seekBy(-SEEK_STEP_S);
          break;
        case "ArrowRight":
          if (event.shiftKey) player.next();
          else player.seekBy(SEEK_STEP_S);
          break;
        case "m":
        case "M":
          player.toggleMute();
          break;
        case "/": {
          const search = document.getElementById("search-box");
          if (!search) return;
          search.focus();
          break;
        }
        case "?":
          openHelp();
          break;
        default:
          return;
      }
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [openHelp]);
}
