/** A track's room as timestamped comments: the markers over its waveform and the list on its page. */
export { CommentMarkers } from "./components/CommentMarkers";
export { seekTrack, TrackComments } from "./components/TrackComments";
export { useComments, useTrackComments } from "./store";
