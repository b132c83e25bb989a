import { Toast } from "radix-ui";
import { useTranslation } from "react-i18next";

import { useToasts } from "./Toast";

/** The notes on screen, each closing after 4 s or by its button (F8 reaches them). */
export function ToastList() {
  const { t } = useTranslation();
  const notes = useToasts((state) => state.notes);
  const remove = useToasts((state) => state.remove);
  return (
    <Toast.Provider duration={4000} label={t("app.notifications")}>
      {notes.map((note) => (
        <Toast.Root
          key={note.id}
          onOpenChange={(open) => (open ? undefined : remove(note.id))}
          className="flex items-center justify-between gap-3 rounded-md bg-zinc-900 px-4 py-3 text-white shadow-lg dark:bg-zinc-100 dark:text-zinc-900"
        >
          <Toast.Description>{note.text}</Toast.Description>
          <Toast.Close aria-label={t("app.close")} className="rounded px-1">
            ✕
          </Toast.Close>
        </Toast.Root>
      ))}
      <Toast.Viewport className="fixed bottom-24 right-4 z-50 flex w-[calc(100vw-2rem)] max-w-sm flex-col gap-2" />
    </Toast.Provider>
  );
}
