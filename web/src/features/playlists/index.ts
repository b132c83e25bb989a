export { playlistKeys, type Playlist, type PlaylistSummary } from "./api/playlists";
export { AddToPlaylistMenu } from "./components/AddToPlaylistMenu";
export { MyPlaylistsPage, PlaylistPage } from "./components/pages";
export { ReorderList } from "./components/ReorderList";
