import { lazy, Suspense, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";

import { Button } from "@/components/Button";
import { Menu, MenuContent, MenuItem, MenuLabel, MenuSeparator, MenuTrigger } from "@/components/Menu";
import { toast } from "@/components/Toast";
import { useCurrentUser } from "@/features/auth";
import { ApiError } from "@/lib/api";

import { useAddToPlaylist, useMyPlaylists } from "../hooks/usePlaylists";

// The new-playlist dialog (and Radix's dialog under it) loads when "New playlist" is chosen.
const PlaylistFormDialog = lazy(() => import("./PlaylistFormDialog").then((m) => ({ default: m.PlaylistFormDialog })));

interface Props {
  trackId: string;
  /** The track's title, to name the button apart from the others on a list. */
  trackTitle?: string;
  compact?: boolean;
}

/** "Add to playlist": pick one of my playlists, or make a new one with the track in it. */
export function AddToPlaylistMenu({ trackId, trackTitle, compact = false }: Props) {
  const { t } = useTranslation("playlists");
  const user = useCurrentUser();
  const navigate = useNavigate();
  const playlists = useMyPlaylists();
  const add = useAddToPlaylist();
  const [creating, setCreating] = useState(false);
  const label = trackTitle ? t("addNamed", { title: trackTitle }) : t("add");
  const addTo = (playlistId: string, title: string) =>
    add.mutate(
      { playlistId, trackId },
      {
        onSuccess: () => toast(t("added", { title })),
        onError: (error) => toast(error instanceof ApiError ? error.message : t("addFailed")),
      },
    );
  if (!user) {
    return (
      <Button variant="secondary" size={compact ? "sm" : "md"} aria-label={label} onClick={() => navigate(`/login?next=${encodeURIComponent(location.pathname)}`)}>
        <span aria-hidden="true">+</span>
        {compact ? null : t("add")}
      </Button>
    );
  }
  return (
    <>
      <Menu>
        <MenuTrigger asChild>
          <Button variant="secondary" size={compact ? "sm" : "md"} aria-label={label}>
            <span aria-hidden="true">+</span>
            {compact ? null : t("add")}
          </Button>
        </MenuTrigger>
        <MenuContent label={label}>
          <MenuLabel>{t("add")}</MenuLabel>
          {playlists.isPending ? <MenuItem disabled>{t("loading")}</MenuItem> : null}
          {(playlists.data?.items ?? []).map((playlist) => (
            <MenuItem key={playlist.id} onSelect={() => addTo(playlist.id, playlist.title)}>
              {playlist.title}
            </MenuItem>
          ))}
          <MenuSeparator />
          <MenuItem onSelect={() => setCreating(true)}>{t("newWithTrack")}</MenuItem>
        </MenuContent>
      </Menu>
      {creating ? (
        <Suspense fallback={null}>
          <PlaylistFormDialog open onOpenChange={setCreating} onCreated={(playlist) => addTo(playlist.id, playlist.title)} />
        </Suspense>
      ) : null}
    </>
  );
}
