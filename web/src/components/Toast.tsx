/** Short notes that come and go ("Link copied"), announced politely to screen readers. */
import { lazy, Suspense } from "react";
import { create } from "zustand";

interface Note {
  id: number;
  text: string;
}

interface Toasts {
  notes: Note[];
  /** True once a note was shown: the list stays mounted from then on. */
  shown: boolean;
  add: (text: string) => void;
  remove: (id: number) => void;
}

let next = 1;
export const useToasts = create<Toasts>((set) => ({
  notes: [],
  shown: false,
  add: (text) => set((state) => ({ notes: [...state.notes, { id: next++, text }], shown: true })),
  remove: (id) => set((state) => ({ notes: state.notes.filter((note) => note.id !== id) })),
}));

export function toast(text: string): void {
  useToasts.getState().add(text);
}

// The notes' list (Radix Toast) loads with the first note, not with the page: nothing shows
// before one.
const ToastList = lazy(() => import("./ToastList").then((m) => ({ default: m.ToastList })));

export function Toaster() {
  const shown = useToasts((state) => state.shown);
  if (!shown) return null;
  return (
    <Suspense fallback={null}>
      <ToastList />
    </Suspense>
  );
}
