import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";

import { Button } from "@/components/Button";
import { Confirm } from "@/components/Dialog";
import { toast } from "@/components/Toast";
import { ApiError } from "@/lib/api";

import type { Track } from "../api/library";
import { useDeleteTrack, useReprocess } from "../hooks/useLibrary";
import { EditTrackDialog } from "./EditTrackDialog";

/** The owner's (or an admin's) buttons on a track page: edit, analyse again, delete. */
export function OwnerControls({ track }: { track: Track }) {
  const { t } = useTranslation("library");
  const navigate = useNavigate();
  const [editing, setEditing] = useState(false);
  const remove = useDeleteTrack(track.id);
  const reprocess = useReprocess(track.id);
  const onError = (error: unknown) => toast(error instanceof ApiError ? error.message : t("failed"));
  return (
    <div className="flex flex-wrap gap-2">
      <Button variant="secondary" onClick={() => setEditing(true)}>
        {t("edit.open")}
      </Button>
      <Confirm
        trigger={<Button variant="secondary">{t("reprocess.open")}</Button>}
        title={t("reprocess.title")}
        description={t("reprocess.body")}
        confirm={t("reprocess.confirm")}
        danger={false}
        onConfirm={() => reprocess.mutate(undefined, { onSuccess: () => toast(t("reprocess.done")), onError })}
      />
      <Confirm
        trigger={<Button variant="danger">{t("delete.open")}</Button>}
        title={t("delete.title")}
        description={t("delete.body", { title: track.title })}
        confirm={t("delete.confirm")}
        onConfirm={() =>
          remove.mutate(undefined, {
            onSuccess: () => {
              toast(t("delete.done", { title: track.title }));
              navigate("/dashboard");
            },
            onError,
          })
        }
      />
      <EditTrackDialog track={track} open={editing} onOpenChange={setEditing} />
    </div>
  );
}
