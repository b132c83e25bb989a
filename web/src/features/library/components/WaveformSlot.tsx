import type { Track } from "../api/library";

/**
 * Where the track page shows the waveform. Placeholder until the waveform feature exports
 * `<TrackWaveform track={track} />`; then render it here.
 */
export function WaveformSlot({ track }: { track: Track; access?: string | null }) {
  return <div data-track-id={track.id} />;
}
