import { useRef, useState, type DragEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { useSocket, useTrackEvent } from "@/features/socket";

import { useUploadedTrack } from "../api/track";
import { useUploads, type UploadRow } from "../store";

function megabytes(bytes: number): string {
  return (bytes / 1_048_576).toFixed(bytes < 10_485_760 ? 1 : 0);
}

function Bar({ label, value, text, tone }: { label: string; value: number | null; text: string; tone: "upload" | "pipeline" | "done" | "failed" }) {
  const colour = { upload: "bg-violet-600", pipeline: "bg-sky-600", done: "bg-emerald-600", failed: "bg-red-600" }[tone];
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={value ?? undefined}
      aria-valuetext={text}
      className="h-1.5 w-full overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
    >
      <div className={`h-full ${colour} transition-[width]`} style={{ width: `${value ?? 0}%` }} />
    </div>
  );
}

function Row({ row }: { row: UploadRow }) {
  const { t } = useTranslation("upload");
  const event = useTrackEvent(row.trackId);
  const socketOpen = useSocket((s) => s.state === "open");
  const finished = event?.type === "track.ready" || event?.type === "track.failed";
  const track = useUploadedTrack(row.state === "processing" ? row.trackId : null, finished, socketOpen).data;
  const dismiss = useUploads((s) => s.dismiss);

  let value: number | null = null;
  let text: string;
  let tone: "upload" | "pipeline" | "done" | "failed" = "upload";
  let detail: React.ReactNode = null;

  if (row.state === "waiting") {
    value = 0;
    text = t("waiting");
  } else if (row.state === "uploading") {
    value = row.total ? Math.floor((row.sent / row.total) * 100) : 0;
    text = t("uploading", { percent: value, sent: megabytes(row.sent), total: megabytes(row.total) });
  } else if (row.state === "refused") {
    tone = "failed";
    value = 0;
    text = t("refused");
    detail = <p className="text-sm text-red-700 dark:text-red-300">{row.error}</p>;
  } else {
    const failedError = event?.type === "track.failed" ? event.error : track?.status === "failed" ? track.error : null;
    const ready = event?.type === "track.ready" || track?.status === "ready";
    if (ready) {
      tone = "done";
      value = 100;
      text = t("ready");
      detail = (
        <Link className="text-sm font-medium text-violet-700 underline dark:text-violet-300" to={`/tracks/${row.trackId}`}>
          {t("open", { title: track?.title ?? row.file.name })}
        </Link>
      );
    } else if (failedError || event?.type === "track.failed" || track?.status === "failed") {
      tone = "failed";
      value = 100;
      text = t("failed");
      detail = (
        <p className="text-sm text-red-700 dark:text-red-300">
          {failedError?.message || failedError?.code || t("unknown")}{" "}
          <Link className="underline" to={`/tracks/${row.trackId}`}>
            {t("details")}
          </Link>
        </p>
      );
    } else {
      tone = "pipeline";
      const progress = event?.type === "track.progress" ? event.progress : (track?.job?.progress ?? 0);
      value = Math.max(0, Math.min(100, Math.round(progress)));
      text = t("processing", { percent: value });
    }
  }

  return (
    <li className="flex flex-col gap-1 rounded-md border border-zinc-200 p-3 dark:border-zinc-800">
      <div className="flex items-baseline justify-between gap-2">
        <span className="min-w-0 truncate font-medium">{row.file.name}</span>
        <span className="shrink-0 text-sm text-zinc-600 dark:text-zinc-400" aria-hidden="true">
          {text}
        </span>
      </div>
      <Bar label={row.file.name} value={value} text={text} tone={tone} />
      <div className="flex items-center justify-between gap-2">
        <div role="status">{detail}</div>
        {(row.state === "waiting" || row.state === "uploading" || row.state === "refused") && (
          <button
            type="button"
            className="shrink-0 rounded px-2 py-0.5 text-sm text-zinc-700 hover:bg-zinc-200 dark:text-zinc-300 dark:hover:bg-zinc-800"
            aria-label={row.state === "refused" ? t("dismiss", { name: row.file.name }) : t("cancel", { name: row.file.name })}
            onClick={() => dismiss(row.id)}
          >
            {row.state === "refused" ? t("dismissShort") : t("cancelShort")}
          </button>
        )}
      </div>
    </li>
  );
}

/** Artists upload here: drop files (an album at once) or choose them; each file has its row. */
export function UploadPage() {
  const { t } = useTranslation("upload");
  const rows = useUploads((s) => s.rows);
  const add = useUploads((s) => s.add);
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    if (event.dataTransfer.files.length) add(event.dataTransfer.files);
  };

  return (
    <div className="mx-auto flex max-w-3xl flex-col gap-4 p-4 sm:p-8">
      <h1 className="text-2xl font-semibold">{t("title")}</h1>
      <section
        aria-label={t("region")}
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = "copy";
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
        className={`flex flex-col items-center gap-3 rounded-lg border-2 border-dashed p-8 text-center ${
          over ? "border-violet-600 bg-violet-50 dark:bg-violet-950/40" : "border-zinc-300 dark:border-zinc-700"
        }`}
      >
        <p>{t("drop")}</p>
        <label className="cursor-pointer rounded-md bg-violet-700 px-4 py-2 font-medium text-white focus-within:outline-2 focus-within:outline-offset-2 focus-within:outline-violet-500 hover:bg-violet-800 dark:bg-violet-300 dark:text-zinc-950">
          {t("choose")}
          <input
            ref={input}
            type="file"
            multiple
            accept="audio/*,.flac,.wav,.mp3,.ogg,.opus,.m4a,.aac,.aif,.aiff"
            className="sr-only"
            onChange={(e) => {
              if (e.target.files?.length) add(e.target.files);
              e.target.value = "";
            }}
          />
        </label>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">{t("hint")}</p>
      </section>
      {rows.length > 0 && (
        <ul aria-label={t("list")} className="flex flex-col gap-2">
          {rows.map((row) => (
            <Row key={row.id} row={row} />
          ))}
        </ul>
      )}
    </div>
  );
}
