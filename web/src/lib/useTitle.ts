import { useEffect } from "react";

/** The browser tab (and a screen reader on arrival) names the page: "First Light · Veza". */
export function useTitle(title: string | null | undefined, app = "Veza"): void {
  useEffect(() => {
    document.title = title ? `${title} · ${app}` : app;
  }, [title, app]);
}
