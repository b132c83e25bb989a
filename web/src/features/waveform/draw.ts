import type { WaveformData } from "./api/waveform";

/** Per column of the canvas, the lowest and highest value (-1..1) over every channel. */
export function columns(wave: WaveformData, width: number): Float32Array {
  const out = new Float32Array(width * 2);
  const { length, channels, data } = wave;
  const scale = 2 ** (wave.bits - 1);
  if (length === 0 || width === 0) return out;
  for (let x = 0; x < width; x++) {
    const from = Math.floor((x * length) / width);
    const to = Math.max(from + 1, Math.floor(((x + 1) * length) / width));
    let lo = 0;
    let hi = 0;
    for (let px = from; px < to && px < length; px++) {
      for (let ch = 0; ch < channels; ch++) {
        const i = (px * channels + ch) * 2;
        lo = Math.min(lo, data[i]!);
        hi = Math.max(hi, data[i + 1]!);
      }
    }
    out[x * 2] = lo / scale;
    out[x * 2 + 1] = hi / scale;
  }
  return out;
}

export interface Palette {
  played: string;
  unplayed: string;
  scrub: string;
  beat: string;
  cue: string;
}

export interface Marks {
  beats: number[] | null;
  cueIn: number | null;
  cueOut: number | null;
}

/** Draw the peaks: the played part in its own colour, then beats, cues and the play head. */
export function draw(
  ctx: CanvasRenderingContext2D,
  cols: Float32Array,
  size: { width: number; height: number; ratio: number },
  duration: number,
  position: number,
  scrub: number | null,
  marks: Marks | null,
  palette: Palette,
): void {
  const { width, height, ratio } = size;
  const columnsCount = cols.length / 2;
  ctx.clearRect(0, 0, width * ratio, height * ratio);
  // Drawn to the track's own loudest peak, so a quiet track still fills the height.
  let peak = 0;
  for (let i = 0; i < cols.length; i++) peak = Math.max(peak, Math.abs(cols[i]!));
  const mid = (height * ratio) / 2;
  const scale = peak > 0 ? (0.95 * mid) / peak : mid;
  const playedX = duration > 0 ? (position / duration) * columnsCount : 0;
  const barW = (width * ratio) / columnsCount;
  for (let x = 0; x < columnsCount; x++) {
    const lo = cols[x * 2]!;
    const hi = cols[x * 2 + 1]!;
    ctx.fillStyle = x < playedX ? palette.played : palette.unplayed;
    const top = mid - hi * scale;
    const h = Math.max(ratio, (hi - lo) * scale);
    ctx.fillRect(x * barW, top, Math.max(ratio, barW - (barW > 2 ? ratio : 0)), h);
  }
  if (marks && duration > 0) {
    ctx.fillStyle = palette.beat;
    for (const beat of marks.beats ?? []) {
      ctx.fillRect((beat / duration) * width * ratio, 0, ratio, height * ratio * 0.15);
      ctx.fillRect((beat / duration) * width * ratio, height * ratio * 0.85, ratio, height * ratio * 0.15);
    }
    ctx.fillStyle = palette.cue;
    for (const cue of [marks.cueIn, marks.cueOut]) {
      if (cue !== null) ctx.fillRect((cue / duration) * width * ratio - ratio, 0, 2 * ratio, height * ratio);
    }
  }
  if (scrub !== null && duration > 0) {
    ctx.fillStyle = palette.scrub;
    ctx.fillRect((scrub / duration) * width * ratio - ratio, 0, 2 * ratio, height * ratio);
  }
}
