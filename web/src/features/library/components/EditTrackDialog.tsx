import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/Button";
import { Modal } from "@/components/Dialog";
import { ErrorMessage } from "@/components/Feedback";
import { SelectField, TextAreaField, TextField } from "@/components/Field";
import { toast } from "@/components/Toast";
import { ApiError } from "@/lib/api";

import type { Track, TrackUpdate, Visibility } from "../api/library";
import { useUpdateTrack } from "../hooks/useLibrary";

interface Form {
  title: string;
  artist: string;
  album: string;
  genre: string;
  tags: string;
  description: string;
  visibility: Visibility;
}

const fromTrack = (track: Track): Form => ({
  title: track.title,
  artist: track.artist ?? "",
  album: track.album ?? "",
  genre: track.genre ?? "",
  tags: track.tags.join(", "),
  description: track.description ?? "",
  visibility: track.visibility,
});

/** The changed fields only; an emptied field becomes null (cleared). */
function changes(before: Form, after: Form): TrackUpdate {
  const out: TrackUpdate = {};
  const text = (name: "artist" | "album" | "genre" | "description") => {
    if (after[name].trim() !== before[name].trim()) out[name] = after[name].trim() || null;
  };
  if (after.title.trim() !== before.title.trim()) out.title = after.title.trim();
  text("artist");
  text("album");
  text("genre");
  text("description");
  if (after.tags !== before.tags) {
    out.tags = after.tags
      .split(",")
      .map((tag) => tag.trim())
      .filter(Boolean);
  }
  if (after.visibility !== before.visibility) out.visibility = after.visibility;
  return out;
}

export function EditTrackDialog({ track, open, onOpenChange }: { track: Track; open: boolean; onOpenChange: (open: boolean) => void }) {
  const { t } = useTranslation("library");
  const [form, setForm] = useState(() => fromTrack(track));
  const update = useUpdateTrack(track.id);
  useEffect(() => {
    if (open) {
      setForm(fromTrack(track));
      update.reset();
    }
    // Fill the form each time the dialog opens.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open]);
  const fields = update.error instanceof ApiError ? update.error.fields : {};
  const field = (name: keyof Form) => ({
    name,
    value: form[name],
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) => setForm({ ...form, [name]: e.target.value }),
    error: fields[name] ?? Object.entries(fields).find(([key]) => key.startsWith(`${name}.`))?.[1],
  });
  const onSubmit = (event: React.FormEvent) => {
    event.preventDefault();
    const diff = changes(fromTrack(track), form);
    if (Object.keys(diff).length === 0) {
      onOpenChange(false);
      return;
    }
    update.mutate(diff, {
      onSuccess: () => {
        onOpenChange(false);
        toast(t("saved"));
      },
    });
  };
  return (
    <Modal open={open} onOpenChange={onOpenChange} title={t("edit.title")}>
      <form className="flex flex-col gap-3" onSubmit={onSubmit} noValidate>
        <TextField label={t("edit.trackTitle")} required maxLength={200} {...field("title")} />
        <TextField label={t("edit.artist")} maxLength={200} {...field("artist")} />
        <TextField label={t("edit.album")} maxLength={200} {...field("album")} />
        <TextField label={t("edit.genre")} maxLength={100} {...field("genre")} />
        <TextField label={t("edit.tags")} hint={t("edit.tagsHint")} {...field("tags")} />
        <TextAreaField label={t("edit.description")} maxLength={5000} {...field("description")} />
        <SelectField label={t("edit.visibility")} {...field("visibility")}>
          {(["public", "unlisted", "private"] as const).map((v) => (
            <option key={v} value={v}>
              {t(`visibility.${v}`)}
            </option>
          ))}
        </SelectField>
        {Object.keys(fields).length === 0 ? <ErrorMessage error={update.error} /> : null}
        <div className="mt-2 flex justify-end gap-2">
          <Button variant="secondary" onClick={() => onOpenChange(false)}>
            {t("cancel")}
          </Button>
          <Button type="submit" disabled={update.isPending}>
            {t("save")}
          </Button>
        </div>
      </form>
    </Modal>
  );
}
