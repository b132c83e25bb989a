import { CommentMarkers } from "@/features/comments";
import { TrackWaveform } from "@/features/waveform";

import type { Track } from "../api/library";

/** Where the track page shows the waveform (click or drag on it to seek), its comments under it. */
export function WaveformSlot({ track, access }: { track: Track; access?: string | null }) {
  return (
    <TrackWaveform track={{ ...track, access }}>
      {(duration, seekTo) => <CommentMarkers trackId={track.id} durationS={duration} seekTo={seekTo} />}
    </TrackWaveform>
  );
}
