/** The files being uploaded on this page, two at a time. */
import { create } from "zustand";

import { ApiError } from "@/lib/api";

import { uploadFile } from "./api/upload";

export const PARALLEL_UPLOADS = 2;

export type RowState = "waiting" | "uploading" | "processing" | "refused";

export interface UploadRow {
  id: string;
  file: File;
  state: RowState;
  sent: number;
  total: number;
  trackId: string | null;
  /** The API's reason for refusing the file. */
  error: string | null;
}

interface Uploads {
  rows: UploadRow[];
  add(files: Iterable<File>): void;
  dismiss(id: string): void;
}

let seq = 0;
const controllers = new Map<string, AbortController>();

function update(id: string, patch: Partial<UploadRow>): void {
  useUploads.setState((s) => ({ rows: s.rows.map((r) => (r.id === id ? { ...r, ...patch } : r)) }));
}

function pump(): void {
  const { rows } = useUploads.getState();
  let running = rows.filter((r) => r.state === "uploading").length;
  for (const row of rows) {
    if (running >= PARALLEL_UPLOADS) break;
    if (row.state !== "waiting") continue;
    running++;
    void run(row);
  }
}

async function run(row: UploadRow): Promise<void> {
  const controller = new AbortController();
  controllers.set(row.id, controller);
  update(row.id, { state: "uploading" });
  try {
    const accepted = await uploadFile(row.file, {
      signal: controller.signal,
      onProgress: (sent, total) => update(row.id, { sent, total }),
    });
    update(row.id, { state: "processing", trackId: accepted.id, sent: row.file.size });
  } catch (error) {
    if (!(error instanceof DOMException && error.name === "AbortError")) {
      update(row.id, { state: "refused", error: error instanceof ApiError ? error.message : String(error) });
    }
  } finally {
    controllers.delete(row.id);
    pump();
  }
}

export const useUploads = create<Uploads>((set) => ({
  rows: [],
  add(files) {
    const added = Array.from(files, (file) => ({
      id: `u${++seq}`,
      file,
      state: "waiting" as const,
      sent: 0,
      total: file.size,
      trackId: null,
      error: null,
    }));
    set((s) => ({ rows: [...s.rows, ...added] }));
    pump();
  },
  dismiss(id) {
    controllers.get(id)?.abort();
    set((s) => ({ rows: s.rows.filter((r) => r.id !== id) }));
    pump();
  },
}));
