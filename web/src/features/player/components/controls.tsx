import { Slider, Switch } from "radix-ui";
import { useTranslation } from "react-i18next";

import { usePlayer } from "../store";
import { MutedIcon, RepeatIcon, ShuffleIcon, VolumeIcon } from "./icons";

export const iconButton =
  "inline-flex h-10 w-10 shrink-0 items-center justify-center rounded-full text-zinc-700 hover:bg-zinc-200 disabled:opacity-40 dark:text-zinc-200 dark:hover:bg-zinc-800";
export const toggled = "aria-pressed:bg-violet-100 aria-pressed:text-violet-800 dark:aria-pressed:bg-violet-900/60 dark:aria-pressed:text-violet-200";

export function ShuffleButton({ className = "" }: { className?: string }) {
  const { t } = useTranslation("player");
  const shuffle = usePlayer((s) => s.shuffle);
  return (
    <button type="button" className={`${iconButton} ${toggled} ${className}`} aria-label={t("shuffle")} aria-pressed={shuffle} onClick={usePlayer.getState().toggleShuffle}>
      <ShuffleIcon />
    </button>
  );
}

export function RepeatButton({ className = "" }: { className?: string }) {
  const { t } = useTranslation("player");
  const repeat = usePlayer((s) => s.repeat);
  return (
    <button
      type="button"
      className={`${iconButton} ${toggled} relative ${className}`}
      aria-label={t("repeat")}
      aria-pressed={repeat !== "off"}
      title={t(`repeatMode.${repeat}`)}
      onClick={usePlayer.getState().cycleRepeat}
    >
      <RepeatIcon />
      {repeat === "one" && <span aria-hidden="true" className="absolute right-1 top-1 text-[10px] font-bold">1</span>}
    </button>
  );
}

export function NormaliseSwitch({ className = "" }: { className?: string }) {
  const { t } = useTranslation("player");
  const normalise = usePlayer((s) => s.normalise);
  return (
    <label className={`items-center gap-1.5 text-xs text-zinc-700 dark:text-zinc-300 ${className}`}>
      <Switch.Root
        checked={normalise}
        onCheckedChange={usePlayer.getState().setNormalise}
        className="relative h-5 w-9 shrink-0 rounded-full bg-zinc-400 data-[state=checked]:bg-violet-600 dark:bg-zinc-600 dark:data-[state=checked]:bg-violet-400"
      >
        <Switch.Thumb className="block h-4 w-4 translate-x-0.5 rounded-full bg-white transition-transform data-[state=checked]:translate-x-4" />
      </Switch.Root>
      {t("normalise")}
    </label>
  );
}


export function VolumeControl({ className = "" }: { className?: string }) {
  const { t } = useTranslation("player");
  const volume = usePlayer((s) => s.volume);
  const muted = usePlayer((s) => s.muted);
  const setVolume = usePlayer((s) => s.setVolume);
  const toggleMute = usePlayer((s) => s.toggleMute);
  return (
    <div className={`flex items-center gap-1 ${className}`}>
      <button type="button" className={iconButton} aria-label={muted ? t("unmute") : t("mute")} onClick={toggleMute}>
        {muted || volume === 0 ? <MutedIcon /> : <VolumeIcon />}
      </button>
      <Slider.Root
        className="relative flex h-5 w-24 touch-none select-none items-center"
        min={0}
        max={100}
        step={5}
        value={[muted ? 0 : Math.round(volume * 100)]}
        onValueChange={([v]) => setVolume((v ?? 0) / 100)}
      >
        <Slider.Track className="relative h-1 grow rounded-full bg-zinc-300 dark:bg-zinc-700">
          <Slider.Range className="absolute h-full rounded-full bg-zinc-600 dark:bg-zinc-300" />
        </Slider.Track>
        <Slider.Thumb
          aria-label={t("volume")}
          aria-valuetext={`${muted ? 0 : Math.round(volume * 100)} %`}
          className="block h-3.5 w-3.5 rounded-full bg-zinc-700 shadow dark:bg-zinc-200"
        />
      </Slider.Root>
    </div>
  );
}
