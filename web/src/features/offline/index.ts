/** Without a connection: a banner while the app runs, a page in place of one it could not load. */
export { OfflineBanner, PROBE_DELAYS_MS } from "./components/OfflineBanner";
export { OfflinePage, retry } from "./components/OfflinePage";
