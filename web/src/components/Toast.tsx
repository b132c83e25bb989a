/** Short notes that come and go ("Link copied"), announced politely to screen readers. */
import { Toast } from "radix-ui";
import { useTranslation } from "react-i18next";
import { create } from "zustand";

interface Note {
  id: number;
  text: string;
}

interface Toasts {
  notes: Note[];
  add: (text: string) => void;
  remove: (id: number) => void;
}

let next = 1;
const useToasts = create<Toasts>((set) => ({
  notes: [],
  add: (text) => set((state) => ({ notes: [...state.notes, { id: next++, text }] })),
  remove: (id) => set((state) => ({ notes: state.notes.filter((note) => note.id !== id) })),
}));

export function toast(text: string): void {
  useToasts.getState().add(text);
}

export function Toaster() {
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
