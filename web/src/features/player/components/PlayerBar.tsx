import { Slider } from "radix-ui";
import { lazy, Suspense, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { coverUrl } from "../api/stream";
import { formatTime, trackPath } from "../format";
import { useMediaSession } from "../hooks/useMediaSession";
import { currentTrack, hasNext, usePlayer } from "../store";
import {
  NextIcon,
  PauseIcon,
  PlayIcon,
  PreviousIcon,
  QueueIcon,
} from "./icons";
import { iconButton, NormaliseSwitch, RepeatButton, ShuffleButton, VolumeControl } from "./controls";

// The queue panel (and the virtualiser under it) loads when first opened, not with the page;
// pointing at or focusing its button starts the download, so it opens at once.
const loadQueuePanel = () => import("./QueuePanel");
const QueuePanel = lazy(() => loadQueuePanel().then((m) => ({ default: m.QueuePanel })));

function Cover({ trackId }: { trackId: string }) {
  const [failed, setFailed] = useState<string | null>(null);
  if (failed === trackId) {
    return <div className="h-10 w-10 shrink-0 rounded bg-gradient-to-br from-violet-500 to-fuchsia-600 sm:h-12 sm:w-12" aria-hidden="true" />;
  }
  return (
    <img
      src={coverUrl(trackId)}
      alt=""
      width={48}
      height={48}
      className="h-10 w-10 shrink-0 rounded object-cover sm:h-12 sm:w-12"
      onError={() => setFailed(trackId)}
    />
  );
}

function SeekBar() {
  const { t } = useTranslation("player");
  const position = usePlayer((s) => s.position);
  const duration = usePlayer((s) => s.duration);
  const seek = usePlayer((s) => s.seek);
  const loaded = usePlayer((s) => s.index >= 0);
  // While the thumb is dragged, show where it is and seek once it is let go; a key seeks at once.
  // (For a key, Radix reports the commit before the change: a drag state kept from that change
  // would stick.)
  const [dragging, setDragging] = useState<number | null>(null);
  const pointer = useRef(false);
  const shown = dragging ?? position;
  const max = Math.max(duration, 0.001);
  return (
    <div className="flex w-full items-center gap-2 text-xs tabular-nums text-zinc-600 dark:text-zinc-400">
      <span aria-hidden="true" className="w-10 text-right">{formatTime(shown)}</span>
      <Slider.Root
        className="relative flex h-5 flex-1 touch-none select-none items-center"
        min={0}
        max={max}
        step={1}
        value={[Math.min(shown, max)]}
        disabled={!loaded}
        onPointerDown={() => (pointer.current = true)}
        onValueChange={([v]) => (pointer.current ? setDragging(v ?? 0) : seek(v ?? 0))}
        onValueCommit={([v]) => {
          if (!pointer.current) return;
          pointer.current = false;
          setDragging(null);
          seek(v ?? 0);
        }}
      >
        <Slider.Track className="relative h-1 grow rounded-full bg-zinc-300 dark:bg-zinc-700">
          <Slider.Range className="absolute h-full rounded-full bg-violet-600 dark:bg-violet-400" />
        </Slider.Track>
        <Slider.Thumb
          aria-label={t("seek")}
          aria-valuetext={t("positionOf", { position: formatTime(shown), duration: formatTime(duration) })}
          className="block h-3.5 w-3.5 rounded-full bg-violet-700 shadow dark:bg-violet-300"
        />
      </Slider.Root>
      <span aria-hidden="true" className="w-10">{formatTime(duration)}</span>
    </div>
  );
}

/** The persistent player: mounted once in the layout, so navigating never stops the music. */
export function PlayerBar() {
  const { t } = useTranslation("player");
  const track = usePlayer(currentTrack);
  const playing = usePlayer((s) => s.playing);
  const buffering = usePlayer((s) => s.buffering);
  const error = usePlayer((s) => s.error);
  const canNext = usePlayer(hasNext);
  const queueLength = usePlayer((s) => s.queue.length);
  const { toggle, next, previous } = usePlayer.getState();
  const [queueOpen, setQueueOpen] = useState(false);
  const queueButton = useRef<HTMLButtonElement>(null);
  useMediaSession();

  return (
    <section
      aria-label={t("player")}
      className="fixed inset-x-0 bottom-0 z-30 border-t border-zinc-200 bg-white/95 px-2 py-2 backdrop-blur dark:border-zinc-800 dark:bg-zinc-950/95 sm:px-4"
    >
      {queueOpen && (
        <Suspense fallback={null}>
          <QueuePanel
            onClose={() => {
              setQueueOpen(false);
              queueButton.current?.focus();
            }}
          />
        </Suspense>
      )}
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-3 gap-y-1 sm:flex-nowrap">
        <div className="flex min-w-0 flex-1 items-center gap-3 sm:w-64 sm:flex-none">
          {track ? (
            <>
              <Cover trackId={track.id} />
              <div className="min-w-0">
                <Link to={trackPath(track.id, track.access)} className="block truncate font-medium hover:underline">
                  {track.title}
                </Link>
                <p className="truncate text-sm text-zinc-600 dark:text-zinc-400">
                  {track.artist || track.owner_handle || "\u00a0"}
                </p>
              </div>
            </>
          ) : (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">{t("nothing")}</p>
          )}
        </div>

        <div className="flex items-center gap-1">
          <ShuffleButton className="max-sm:hidden" />
          <button type="button" className={iconButton} aria-label={t("previous")} disabled={!track} onClick={previous}>
            <PreviousIcon />
          </button>
          <button
            type="button"
            className="inline-flex h-11 w-11 items-center justify-center rounded-full bg-violet-700 text-white hover:bg-violet-800 disabled:opacity-40 dark:bg-violet-300 dark:text-zinc-950"
            aria-label={playing ? t("pause") : t("play")}
            aria-busy={buffering}
            disabled={!track}
            onClick={toggle}
          >
            {playing ? <PauseIcon /> : <PlayIcon />}
          </button>
          <button type="button" className={iconButton} aria-label={t("next")} disabled={!canNext} onClick={next}>
            <NextIcon />
          </button>
          <RepeatButton className="max-sm:hidden" />
        </div>

        <div className="order-last w-full sm:order-none sm:flex-1">
          <SeekBar />
        </div>

        <div className="flex items-center gap-2">
          <VolumeControl className="max-sm:hidden" />
          <NormaliseSwitch className="flex max-md:hidden" />
          <button
            type="button"
            className={`${iconButton} aria-expanded:bg-violet-100 aria-expanded:text-violet-800 dark:aria-expanded:bg-violet-900/60 dark:aria-expanded:text-violet-200`}
            ref={queueButton}
            aria-label={t("queue")}
            aria-expanded={queueOpen}
            aria-controls={queueOpen ? "player-queue" : undefined}
            title={t("queueCount", { count: queueLength })}
            onClick={() => setQueueOpen((o) => !o)}
            onPointerEnter={() => void loadQueuePanel()}
            onFocus={() => void loadQueuePanel()}
          >
            <QueueIcon />
          </button>
        </div>
      </div>
      {error && (
        <p role="alert" className="mx-auto max-w-6xl text-sm text-red-700 dark:text-red-300">
          {t("error", { message: error.startsWith("not_playable") ? t("notReady") : error })}
        </p>
      )}
    </section>
  );
}
