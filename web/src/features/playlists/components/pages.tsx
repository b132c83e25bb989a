import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router-dom";

import { Button } from "@/components/Button";
import { Confirm } from "@/components/Dialog";
import { Empty, ErrorMessage, Loading } from "@/components/Feedback";
import { SelectField } from "@/components/Field";
import { toast } from "@/components/Toast";
import { playTracks } from "@/features/player";
import { ApiError } from "@/lib/api";
import { useTitle } from "@/lib/useTitle";

import type { Visibility } from "../api/playlists";
import { useDeletePlaylist, useMyPlaylists, usePlaylist, useRemoveItem, useReorder, useUpdatePlaylist } from "../hooks/usePlaylists";
import { PlaylistFormDialog } from "./PlaylistFormDialog";
import { ReorderList } from "./ReorderList";

export function MyPlaylistsPage() {
  const { t } = useTranslation("playlists");
  const playlists = useMyPlaylists();
  useTitle(t("mine"));
  const [creating, setCreating] = useState(false);
  const navigate = useNavigate();
  return (
    <section className="p-4 sm:p-8">
      <div className="mb-4 flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-semibold">{t("mine")}</h1>
        <Button onClick={() => setCreating(true)}>{t("create")}</Button>
      </div>
      {playlists.isPending ? <Loading /> : null}
      <ErrorMessage error={playlists.error} />
      {playlists.data && playlists.data.items.length === 0 ? <Empty>{t("none")}</Empty> : null}
      <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
        {(playlists.data?.items ?? []).map((playlist) => (
          <li key={playlist.id} className="rounded-md border border-zinc-200 p-4 dark:border-zinc-800">
            <Link to={`/playlists/${playlist.id}`} className="text-lg font-medium hover:underline">
              {playlist.title}
            </Link>
            <p className="text-sm text-zinc-600 dark:text-zinc-400">
              {t("count", { count: playlist.item_count })} · {t(`vis.${playlist.visibility}`)}
            </p>
          </li>
        ))}
      </ul>
      <PlaylistFormDialog open={creating} onOpenChange={setCreating} onCreated={(p) => navigate(`/playlists/${p.id}`)} />
    </section>
  );
}

export function PlaylistPage() {
  const { t } = useTranslation("playlists");
  const { id = "" } = useParams();
  const navigate = useNavigate();
  const playlist = usePlaylist(id);
  const update = useUpdatePlaylist(id);
  const remove = useRemoveItem(id);
  const order = useReorder(id);
  const destroy = useDeletePlaylist();
  const [renaming, setRenaming] = useState(false);
  useTitle(playlist.data?.title);
  if (playlist.isPending) return <Loading />;
  if (playlist.error) {
    return (
      <section className="p-4 sm:p-8">
        <ErrorMessage error={playlist.error} />
      </section>
    );
  }
  const data = playlist.data;
  const tracks = data.items.map((item) => item.track);
  const onPlay = (index: number) => playTracks(tracks, index);
  const onError = (error: unknown) => toast(error instanceof ApiError ? error.message : t("failed"));
  return (
    <section className="p-4 sm:p-8">
      <div className="mb-4 flex flex-wrap items-start justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold">{data.title}</h1>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            {t("by")}{" "}
            <Link className="underline" to={`/u/${encodeURIComponent(data.owner.handle)}`}>
              {data.owner.display_name || data.owner.handle}
            </Link>{" "}
            · {t("count", { count: data.item_count })} · {t(`vis.${data.visibility}`)}
          </p>
        </div>
        <div className="flex flex-wrap items-end gap-2">
          {tracks.length > 0 ? <Button onClick={() => onPlay(0)}>{t("playAll")}</Button> : null}
          {data.editable ? (
            <>
              <Button variant="secondary" onClick={() => setRenaming(true)}>
                {t("rename")}
              </Button>
              <SelectField
                label={t("visibility")}
                value={data.visibility}
                onChange={(e) => update.mutate({ visibility: e.target.value as Visibility }, { onError })}
              >
                {(["private", "unlisted", "public"] as const).map((v) => (
                  <option key={v} value={v}>
                    {t(`vis.${v}`)}
                  </option>
                ))}
              </SelectField>
              <Confirm
                trigger={<Button variant="danger">{t("delete")}</Button>}
                title={t("deleteTitle")}
                description={t("deleteBody", { title: data.title })}
                confirm={t("delete")}
                onConfirm={() => destroy.mutate(id, { onSuccess: () => navigate("/playlists"), onError })}
              />
            </>
          ) : null}
        </div>
      </div>
      {data.items.length === 0 ? (
        <Empty>{t("empty")}</Empty>
      ) : (
        <ReorderList
          items={data.items}
          editable={data.editable}
          onMove={(from, to) => order.mutate({ from, to }, { onError })}
          onRemove={(item) => remove.mutate(item.id, { onError })}
          onPlay={onPlay}
        />
      )}
      {data.editable ? <PlaylistFormDialog open={renaming} onOpenChange={setRenaming} playlist={data} /> : null}
    </section>
  );
}
