import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type PointerEvent, type ReactNode } from "react";
import { useTranslation } from "react-i18next";

import { formatTime, playbackPosition, playTracks, usePlayer, type PlayableTrack } from "@/features/player";
import { ApiError } from "@/lib/api";

import { pickZoom, useAnalysis, usePeaks } from "../api/waveform";
import { columns, draw, type Palette } from "../draw";

const STEP_S = 5;
const PAGE_S = 30;

/** The colours come from Tailwind classes on hidden spans, so the theme switch applies. */
function usePalette(refs: Record<keyof Palette, React.RefObject<HTMLSpanElement | null>>): () => Palette {
  return () => {
    const color = (k: keyof Palette) => (refs[k].current ? getComputedStyle(refs[k].current).color : "gray");
    return { played: color("played"), unplayed: color("unplayed"), scrub: color("scrub"), beat: color("beat"), cue: color("cue") };
  };
}

/**
 * A track's waveform (audiowaveform JSON drawn on a canvas): click or drag to seek, ←/→ 5 s,
 * PageUp/PageDown 30 s, Home/End. On a track that is not playing, a click starts it there.
 * The played part is drawn in the accent colour; beats and cue points on request.
 * `children` draws what goes under it (comment markers), given the duration and the way to seek.
 */
export function TrackWaveform({
  track,
  children,
}: {
  track: PlayableTrack;
  children?: (duration: number, seekTo: (seconds: number) => void) => ReactNode;
}) {
  const { t } = useTranslation("waveform");
  const analysis = useAnalysis(track.id, track.access);
  const zoom = analysis.data
    ? pickZoom(analysis.data.waveform.zoom_levels, analysis.data.duration_s, analysis.data.sample_rate)
    : null;
  const peaks = usePeaks(track.id, zoom, analysis.isSuccess, track.access);
  const isCurrent = usePlayer((s) => s.queue[s.index]?.track.id === track.id);
  const storePosition = usePlayer((s) => (s.queue[s.index]?.track.id === track.id ? s.position : 0));
  const playing = usePlayer((s) => s.playing);
  const storeDuration = usePlayer((s) => (s.queue[s.index]?.track.id === track.id ? s.duration : 0));
  const duration = storeDuration || analysis.data?.duration_s || track.duration_s || 0;
  const [showMarks, setShowMarks] = useState(false);
  const [scrub, setScrub] = useState<number | null>(null);
  const [smooth, setSmooth] = useState<number | null>(null);
  const position = scrub ?? smooth ?? storePosition;
  // Screen readers hear the player's own position (a few times a second), not every frame's.
  const announced = scrub ?? storePosition;

  const boxRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  const played = useRef<HTMLSpanElement>(null);
  const unplayed = useRef<HTMLSpanElement>(null);
  const scrubRef = useRef<HTMLSpanElement>(null);
  const beat = useRef<HTMLSpanElement>(null);
  const cue = useRef<HTMLSpanElement>(null);
  const palette = usePalette({ played, unplayed, scrub: scrubRef, beat, cue });

  // Follow the element's size.
  useEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    const measure = () => setSize({ width: Math.round(box.clientWidth), height: Math.round(box.clientHeight) });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(box);
    return () => observer.disconnect();
  }, []);

  // While this track plays, move the play head every frame rather than at each timeupdate.
  useEffect(() => {
    if (!isCurrent || !playing) {
      setSmooth(null);
      return;
    }
    let frame = 0;
    const tick = () => {
      setSmooth(playbackPosition());
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [isCurrent, playing]);

  const cols = useMemo(
    () => (peaks.data && size.width > 0 ? columns(peaks.data, Math.min(size.width, peaks.data.length)) : null),
    [peaks.data, size.width],
  );

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || !cols || size.width === 0) return;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = size.width * ratio;
    canvas.height = size.height * ratio;
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    const a = analysis.data;
    draw(ctx, cols, { ...size, ratio }, duration, position, scrub, showMarks && a
      ? { beats: a.tempo.beats_s, cueIn: a.cues.cue_in_s, cueOut: a.cues.cue_out_s }
      : null, palette());
  });

  const seekTo = (seconds: number) => {
    const s = Math.max(0, Math.min(duration, seconds));
    if (isCurrent) usePlayer.getState().seek(s);
    else playTracks([track], 0, s);
  };

  const timeAt = (clientX: number) => {
    const box = boxRef.current?.getBoundingClientRect();
    if (!box || box.width === 0) return 0;
    return Math.max(0, Math.min(1, (clientX - box.left) / box.width)) * duration;
  };

  const dragging = useRef<number | null>(null);
  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    if (event.button !== 0 || duration <= 0) return;
    event.currentTarget.setPointerCapture?.(event.pointerId);
    event.currentTarget.focus();
    dragging.current = event.pointerId;
    setScrub(timeAt(event.clientX));
  };
  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    if (dragging.current === event.pointerId) setScrub(timeAt(event.clientX));
  };
  const onPointerUp = (event: PointerEvent<HTMLDivElement>) => {
    if (dragging.current !== event.pointerId) return;
    dragging.current = null;
    setScrub(null);
    seekTo(timeAt(event.clientX));
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    // From where the track is now (the drawn play head may be a frame behind a seek just made).
    const at = isCurrent ? playbackPosition() : storePosition;
    const to = {
      ArrowLeft: at - STEP_S,
      ArrowDown: at - STEP_S,
      ArrowRight: at + STEP_S,
      ArrowUp: at + STEP_S,
      PageDown: at - PAGE_S,
      PageUp: at + PAGE_S,
      Home: 0,
      End: duration,
    }[event.key];
    if (to === undefined || duration <= 0) return;
    event.preventDefault();
    seekTo(to);
  };

  const notReady = analysis.error instanceof ApiError && analysis.error.status === 409;
  const failed = analysis.isError || peaks.isError;
  const hasMarks = Boolean(analysis.data?.tempo.beats_s?.length || analysis.data?.cues.cue_in_s !== null);

  return (
    <figure className="w-full">
      <span ref={played} className="hidden text-violet-600 dark:text-violet-400" />
      <span ref={unplayed} className="hidden text-zinc-300 dark:text-zinc-700" />
      <span ref={scrubRef} className="hidden text-zinc-900 dark:text-white" />
      <span ref={beat} className="hidden text-sky-600 dark:text-sky-400" />
      <span ref={cue} className="hidden text-amber-600 dark:text-amber-400" />
      <div
        ref={boxRef}
        role="slider"
        tabIndex={0}
        aria-label={t("seek")}
        aria-valuemin={0}
        aria-valuemax={Math.round(duration)}
        aria-valuenow={Math.round(Math.min(announced, duration))}
        aria-valuetext={t("positionOf", { position: formatTime(announced), duration: formatTime(duration) })}
        aria-disabled={duration <= 0 || undefined}
        className="relative h-24 w-full cursor-pointer touch-none select-none rounded bg-zinc-50 dark:bg-zinc-900"
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={() => {
          dragging.current = null;
          setScrub(null);
        }}
        onKeyDown={onKeyDown}
      >
        <canvas ref={canvasRef} aria-hidden="true" className="absolute inset-0 h-full w-full" />
        {!peaks.data && (
          <p className="absolute inset-0 flex items-center justify-center text-sm text-zinc-600 dark:text-zinc-400">
            {notReady ? t("notReady") : failed ? t("unavailable") : t("loading")}
          </p>
        )}
      </div>
      {children?.(duration, seekTo)}
      <figcaption className="mt-1 flex items-center justify-between text-xs text-zinc-600 dark:text-zinc-400">
        <span className="tabular-nums">
          {formatTime(position)} / {formatTime(duration)}
        </span>
        {hasMarks && (
          <button
            type="button"
            aria-pressed={showMarks}
            onClick={() => setShowMarks((v) => !v)}
            className="rounded px-2 py-1 hover:bg-zinc-200 aria-pressed:bg-sky-100 aria-pressed:text-sky-900 dark:hover:bg-zinc-800 dark:aria-pressed:bg-sky-900 dark:aria-pressed:text-sky-100"
          >
            {t("marks")}
          </button>
        )}
      </figcaption>
    </figure>
  );
}
