import { lazy, Suspense, useCallback, useState } from "react";

import { useShortcuts } from "../hooks/useShortcuts";

// The list (and Radix's dialog under it) loads the first time "?" is pressed, not with the page.
const ShortcutsList = lazy(() => import("./ShortcutsList").then((m) => ({ default: m.ShortcutsList })));

/** Installs the app-wide keyboard shortcuts; "?" opens the list of them. Mount once. */
export function ShortcutsDialog() {
  const [open, setOpen] = useState(false);
  const [wanted, setWanted] = useState(false);
  const openHelp = useCallback(() => {
    setWanted(true);
    setOpen(true);
  }, []);
  useShortcuts(openHelp);
  if (!wanted) return null;
  return (
    <Suspense fallback={null}>
      <ShortcutsList open={open} onOpenChange={setOpen} />
    </Suspense>
  );
}
