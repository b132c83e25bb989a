export { libraryKeys, type Track, type TrackSummary } from "./api/library";
export { Cover, LikeButton, ShareButton, StatusBadge, TrackList } from "./components/bits";
export { ArtistPage, DashboardPage, HistoryPage, HomePage, LikesPage } from "./components/pages";
export { TrackPage } from "./components/TrackPage";
export { usePlay } from "./hooks/usePlay";
export { useLiveTracks } from "./hooks/useLiveTracks";
