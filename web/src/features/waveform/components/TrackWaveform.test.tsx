import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";

import { playTracks, setEngine, usePlayer, type PlaybackEngine } from "@/features/player";

import { pickZoom } from "../api/waveform";
import { TrackWaveform } from "./TrackWaveform";

const track = { id: "w1", title: "Sine", artist: "Tester", duration_s: 200 };
const analysis = {
  duration_s: 200,
  sample_rate: 44100,
  tempo: { bpm: 120, beats_s: [0.5, 1, 1.5] },
  cues: { cue_in_s: 0.2, cue_out_s: 199 },
  waveform: { zoom_levels: [256, 1024, 4096] },
};
const asked: string[] = [];
const server = setupServer(
  http.get("*/api/v1/tracks/w1/analysis", () => HttpResponse.json(analysis)),
  http.get("*/api/v1/tracks/w1/analysis/waveform", ({ request }) => {
    asked.push(new URL(request.url).search);
    return HttpResponse.json({ version: 2, channels: 1, sample_rate: 44100, samples_per_pixel: 1024, bits: 8, length: 4, data: [-10, 10, -100, 100, -5, 5, 0, 0] });
  }),
  http.get("*/api/v1/tracks/late/analysis", () =>
    HttpResponse.json({ type: "about:blank", title: "Conflict", status: 409, detail: "not ready", code: "not_ready" }, { status: 409 }),
  ),
);

const seeks: number[] = [];
const loads: { id: string; startAt?: number }[] = [];
const engine: PlaybackEngine = {
  element: null,
  position: () => usePlayer.getState().position,
  load: async (source, options) => {
    loads.push({ id: source.trackId, startAt: options.startAt });
  },
  play: async () => undefined,
  pause: () => undefined,
  seek: (s) => {
    seeks.push(s);
  },
  setVolume: () => undefined,
  setNormalisation: () => undefined,
  preload: () => undefined,
  stop: () => undefined,
};

beforeAll(() => {
  server.listen({ onUnhandledRequest: "error" });
  // jsdom draws nothing: the canvas has no 2D context there.
  HTMLCanvasElement.prototype.getContext = (() => null) as unknown as HTMLCanvasElement["getContext"];
});
afterAll(() => server.close());
beforeEach(() => {
  seeks.length = 0;
  loads.length = 0;
  setEngine(engine, async (trackId) => ({ trackId, url: `/m/${trackId}.m3u8`, gainDb: 0 }));
  usePlayer.getState().clear();
});

function renderWave(t = track) {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <TrackWaveform track={t} />
    </QueryClientProvider>,
  );
  const slider = screen.getByRole("slider", { name: "Waveform: seek" });
  slider.getBoundingClientRect = () => ({ left: 100, top: 0, width: 1000, height: 96, right: 1100, bottom: 96, x: 100, y: 0, toJSON() {} });
  return slider;
}

test("the zoom asked for is the coarsest that still fills a wide screen", () => {
  expect(pickZoom([256, 1024, 4096], 200, 44100)).toBe(1024); // 8,613 px; 4096 gives 2,153
  expect(pickZoom([256, 1024], 5, 44100)).toBe(256); // a short track: the finest
  expect(pickZoom([], 5, 44100)).toBeNull();
});

test("a click on a track that is not playing starts it at that point", async () => {
  const slider = renderWave();
  await vi.waitFor(() => expect(asked).toContain("?zoom=1024"));
  expect(slider).toHaveAttribute("aria-valuemax", "200");
  expect(slider).toHaveAttribute("aria-valuenow", "0");
  act(() => {
    fireEvent.pointerDown(slider, { button: 0, pointerId: 1, clientX: 350 });
    fireEvent.pointerUp(slider, { button: 0, pointerId: 1, clientX: 350 });
  });
  // (350 - 100) / 1000 of 200 s
  expect(usePlayer.getState().queue[0]?.track.id).toBe("w1");
  await vi.waitFor(() => expect(loads).toEqual([{ id: "w1", startAt: 50 }]));
});

test("on the current track, a click or a drag seeks, keys move it, aria values follow", async () => {
  await act(async () => playTracks([track]));
  const slider = renderWave();
  act(() => usePlayer.setState({ duration: 200, position: 10 }));
  expect(slider).toHaveAttribute("aria-valuenow", "10");
  expect(slider).toHaveAttribute("aria-valuetext", "0:10 of 3:20");

  act(() => {
    fireEvent.pointerDown(slider, { button: 0, pointerId: 1, clientX: 600 });
    fireEvent.pointerMove(slider, { pointerId: 1, clientX: 900 });
  });
  expect(slider).toHaveAttribute("aria-valuenow", "160"); // shows where the drag is
  expect(seeks).toEqual([]); // seeks once let go
  act(() => {
    fireEvent.pointerUp(slider, { pointerId: 1, clientX: 1100 });
  });
  expect(seeks).toEqual([200]);
  expect(slider).toHaveAttribute("aria-valuenow", "200");

  act(() => usePlayer.setState({ position: 100 }));
  slider.focus();
  await userEvent.keyboard("{ArrowLeft}");
  expect(seeks.at(-1)).toBe(95);
  await userEvent.keyboard("{ArrowRight}{ArrowRight}");
  expect(seeks.at(-1)).toBe(105);
  await userEvent.keyboard("{PageUp}");
  expect(seeks.at(-1)).toBe(135);
  await userEvent.keyboard("{Home}");
  expect(seeks.at(-1)).toBe(0);
  await userEvent.keyboard("{End}");
  expect(seeks.at(-1)).toBe(200);
});

test("the beats and cues toggle is a pressed button", async () => {
  renderWave();
  const toggle = await screen.findByRole("button", { name: "Show beats and cue points" });
  expect(toggle).toHaveAttribute("aria-pressed", "false");
  await userEvent.click(toggle);
  expect(toggle).toHaveAttribute("aria-pressed", "true");
});

test("a track still processing says the waveform comes later", async () => {
  renderWave({ ...track, id: "late" });
  expect(await screen.findByText("The waveform appears once the track is processed.")).toBeInTheDocument();
});
