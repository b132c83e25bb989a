import { useEffect } from "react";

import { SEEK_STEP_S, usePlayer } from "../store";

/** Elements that use the key themselves: typing, and controls that space or arrows operate. */
function handlesKeys(target: EventTarget | null, key: string): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return true;
  if (key === " " && (tag === "BUTTON" || tag === "A" || tag === "SUMMARY")) return true;
  const role = target.getAttribute("role");
  if (role && ["slider", "switch", "checkbox", "radio", "menuitem", "option", "tab", "combobox", "textbox", "listbox", "spinbutton"].includes(role)) {
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
