import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/Button";
import { Modal } from "@/components/Dialog";
import { ErrorMessage } from "@/components/Feedback";
import { SelectField, TextField } from "@/components/Field";
import { ApiError } from "@/lib/api";

import type { Playlist, Visibility } from "../api/playlists";
import { useCreatePlaylist, useUpdatePlaylist } from "../hooks/usePlaylists";

interface Props {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** Rename this playlist; without it, create one. */
  playlist?: Playlist;
  onCreated?: (playlist: Playlist) => void;
}

export function PlaylistFormDialog({ open, onOpenChange, playlist, onCreated }: Props) {
  const { t } = useTranslation("playlists");
  const [title, setTitle] = useState(playlist?.title ?? "");
  const [visibility, setVisibility] = useState<Visibility>(playlist?.visibility ?? "private");
  const create = useCreatePlaylist();
  const update = useUpdatePlaylist(playlist?.id ?? "");
  const mutation = playlist ? update : create;
  useEffect(() => {
    if (open) {
      setTitle(playlist?.title ?? "");
      setVisibility(playlist?.visibility ?? "private");
      create.reset();
      update.reset();
    }
    // Reset only when the dialog opens.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open]);
  const fields = mutation.error instanceof ApiError ? mutation.error.fields : {};
  const onSubmit = (event: React.FormEvent) => {
    event.preventDefault();
    const done = { onSuccess: (saved: Playlist) => (onOpenChange(false), onCreated?.(saved)) };
    if (playlist) update.mutate({ title: title.trim(), visibility }, done);
    else create.mutate({ title: title.trim(), visibility }, done);
  };
  return (
    <Modal open={open} onOpenChange={onOpenChange} title={playlist ? t("editTitle") : t("create")}>
      <form className="flex flex-col gap-4" onSubmit={onSubmit} noValidate>
        <TextField label={t("title")} name="title" required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} error={fields.title} />
        <SelectField label={t("visibility")} value={visibility} onChange={(e) => setVisibility(e.target.value as Visibility)} error={fields.visibility}>
          {(["private", "unlisted", "public"] as const).map((v) => (
            <option key={v} value={v}>
              {t(`vis.${v}`)}
            </option>
          ))}
        </SelectField>
        {Object.keys(fields).length === 0 ? <ErrorMessage error={mutation.error} /> : null}
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={() => onOpenChange(false)}>
            {t("cancel")}
          </Button>
          <Button type="submit" disabled={mutation.isPending}>
            {playlist ? t("save") : t("create")}
          </Button>
        </div>
      </form>
    </Modal>
  );
}
