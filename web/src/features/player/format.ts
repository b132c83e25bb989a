/** 83.4 -> "1:23"; an hour or more -> "1:02:03". */
export function formatTime(seconds: number): string {
  const s = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Where a track's page is (through its grant, for a private track reached by a shared link). */
export function trackPath(trackId: string, access?: string | null): string {
  const id = encodeURIComponent(trackId);
  return access ? `/play/${id}?access=${encodeURIComponent(access)}` : `/tracks/${id}`;
}
