import { lazy, Suspense } from "react";

import { CommentMarkers } from "@/features/comments";

import type { Track } from "../api/library";

// The waveform (its canvas drawing, its data's client) loads with the track, after the first
// paint: it has nothing to draw before the track and its peaks are here anyway.
const TrackWaveform = lazy(() => import("@/features/waveform").then((m) => ({ default: m.TrackWaveform })));

/** Until the waveform is here, a box of its size, so that nothing below it moves. */
function Placeholder() {
  return (
    <div aria-hidden="true" className="w-full">
      <div className="h-24 w-full rounded bg-zinc-50 dark:bg-zinc-900" />
      <div className="mt-1 h-6" />
    </div>
  );
}

/** Where the track page shows the waveform (click or drag on it to seek), its comments under it. */
export function WaveformSlot({ track, access }: { track: Track; access?: string | null }) {
  return (
    <Suspense fallback={<Placeholder />}>
      <TrackWaveform track={{ ...track, access }}>
        {(duration, seekTo) => <CommentMarkers trackId={track.id} durationS={duration} seekTo={seekTo} />}
      </TrackWaveform>
    </Suspense>
  );
}
