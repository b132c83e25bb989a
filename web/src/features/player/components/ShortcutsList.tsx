import { Dialog } from "radix-ui";
import { useTranslation } from "react-i18next";

import { CloseIcon } from "./icons";

const SHORTCUTS = [
  { keys: ["Space"], action: "playPause" },
  { keys: ["←", "→"], action: "seekKeys" },
  { keys: ["Shift", "←", "→"], action: "trackKeys" },
  { keys: ["M"], action: "muteKey" },
  { keys: ["/"], action: "searchKey" },
  { keys: ["?"], action: "helpKey" },
] as const;

/**
 * The list of the keyboard shortcuts, which "?" opens (ShortcutsDialog loads it then).
 * The dialog is not modal in Radix's sense: a modal one locks scrolling with a <style> element
 * injected at run time, which the app's Content-Security-Policy (style-src 'self') refuses.
 * Escape, a click outside or moving the focus out closes it; the focus returns where it was.
 */
export function ShortcutsList({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const { t } = useTranslation("player");
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange} modal={false}>
      <Dialog.Portal>
        <div className="fixed inset-0 z-40 bg-black/50" aria-hidden="true" />
        <Dialog.Content className="fixed left-1/2 top-1/2 z-50 w-[min(92vw,28rem)] -translate-x-1/2 -translate-y-1/2 rounded-lg bg-white p-5 shadow-xl dark:bg-zinc-900">
          <div className="mb-3 flex items-center justify-between">
            <Dialog.Title className="text-lg font-semibold">{t("shortcuts")}</Dialog.Title>
            <Dialog.Close
              className="inline-flex h-8 w-8 items-center justify-center rounded-full hover:bg-zinc-200 dark:hover:bg-zinc-800"
              aria-label={t("close")}
            >
              <CloseIcon />
            </Dialog.Close>
          </div>
          <Dialog.Description className="sr-only">{t("shortcutsHelp")}</Dialog.Description>
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
            {SHORTCUTS.map(({ keys, action }) => (
              <div key={action} className="contents">
                <dt className="flex gap-1">
                  {keys.map((k) => (
                    <kbd key={k} className="rounded border border-zinc-300 bg-zinc-100 px-1.5 font-mono text-xs dark:border-zinc-700 dark:bg-zinc-800">
                      {k === "Space" ? t("spaceKey") : k}
                    </kbd>
                  ))}
                </dt>
                <dd>{t(action)}</dd>
              </div>
            ))}
          </dl>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
