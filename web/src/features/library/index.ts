import { lazy } from "react";

export { libraryKeys, type Track, type TrackSummary } from "./api/library";
export { Cover, LikeButton, ShareButton, StatusBadge, TrackList } from "./components/bits";
export { HomePage } from "./components/HomePage";
export { usePlay } from "./hooks/usePlay";
export { useLiveTracks } from "./hooks/useLiveTracks";

// Pages past the first one load when first opened (the home page stays in the first download).
export const TrackPage = lazy(() => import("./components/TrackPage").then((m) => ({ default: m.TrackPage })));
export const ArtistPage = lazy(() => import("./components/pages").then((m) => ({ default: m.ArtistPage })));
export const DashboardPage = lazy(() => import("./components/pages").then((m) => ({ default: m.DashboardPage })));
export const HistoryPage = lazy(() => import("./components/pages").then((m) => ({ default: m.HistoryPage })));
export const LikesPage = lazy(() => import("./components/pages").then((m) => ({ default: m.LikesPage })));
