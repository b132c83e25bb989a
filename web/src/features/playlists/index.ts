import { lazy } from "react";

export { playlistKeys, type Playlist, type PlaylistSummary } from "./api/playlists";
export { AddToPlaylistMenu } from "./components/AddToPlaylistMenu";

export const MyPlaylistsPage = lazy(() => import("./components/pages").then((m) => ({ default: m.MyPlaylistsPage })));
export const PlaylistPage = lazy(() => import("./components/pages").then((m) => ({ default: m.PlaylistPage })));
