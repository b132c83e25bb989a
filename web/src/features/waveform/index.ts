/** A track's waveform: seek on it, see what has played, the beats and the cue points. */
export { TrackWaveform } from "./components/TrackWaveform";
export { waveformKeys } from "./api/waveform";
