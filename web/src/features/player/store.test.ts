import { fakeEngine, settle, tracks } from "./test-engine";
import { currentTrack, enqueue, engineEvents, hasNext, playTracks, setRandom, usePlayer } from "./store";

const engineEventsEnded = () => engineEvents.ended();

const ids = () => usePlayer.getState().queue.map((e) => e.track.id);
const current = () => currentTrack()?.id;
const state = () => usePlayer.getState();

beforeEach(() => setRandom(Math.random));

test("playTracks replaces the queue and plays from the start index", async () => {
  const engine = fakeEngine();
  playTracks(tracks(3), 1);
  await settle();
  expect(ids()).toEqual(["t0", "t1", "t2"]);
  expect(current()).toBe("t1");
  expect(engine.loaded).toEqual(["t1"]);
  expect(state().playing).toBe(true);
  // The next track's stream is asked for ahead of time.
  expect(engine.preload).toHaveBeenCalledWith(expect.objectContaining({ trackId: "t2" }));
});

test("enqueue adds at the end; into an empty queue it loads without playing", async () => {
  const engine = fakeEngine();
  enqueue(tracks(1, "a")[0]!);
  await settle();
  expect(current()).toBe("a0");
  expect(engine.loaded).toEqual(["a0"]);
  expect(state().playing).toBe(false);
  enqueue(tracks(1, "b")[0]!);
  expect(ids()).toEqual(["a0", "b0"]);
});

test("the same track queued twice is two entries; removing one keeps the other", () => {
  fakeEngine();
  const [t] = tracks(1);
  playTracks([t!, t!]);
  const [first, second] = state().queue;
  expect(first!.key).not.toBe(second!.key);
  state().remove(second!.key);
  expect(ids()).toEqual(["t0"]);
});

test("removing a track before the current one keeps the current one playing", async () => {
  const engine = fakeEngine();
  playTracks(tracks(4), 2);
  await settle();
  state().remove(state().queue[0]!.key);
  expect(ids()).toEqual(["t1", "t2", "t3"]);
  expect(current()).toBe("t2");
  expect(engine.loaded).toEqual(["t2"]);
});

test("removing the current track plays the one after it", async () => {
  const engine = fakeEngine();
  playTracks(tracks(3), 1);
  await settle();
  state().remove(state().queue[1]!.key);
  await settle();
  expect(current()).toBe("t2");
  expect(engine.loaded).toEqual(["t1", "t2"]);
});

test("reordering moves an entry and the current track stays current", () => {
  fakeEngine();
  playTracks(tracks(4), 1);
  state().move(0, 3);
  expect(ids()).toEqual(["t1", "t2", "t3", "t0"]);
  expect(current()).toBe("t1");
  expect(state().index).toBe(0);
  state().move(3, 0);
  expect(ids()).toEqual(["t0", "t1", "t2", "t3"]);
  expect(state().index).toBe(1);
});

test("clear empties the queue and stops", () => {
  const engine = fakeEngine();
  playTracks(tracks(3));
  state().clear();
  expect(ids()).toEqual([]);
  expect(state().index).toBe(-1);
  expect(state().playing).toBe(false);
  expect(engine.stop).toHaveBeenCalled();
});

test("next and previous walk the queue; at the end without repeat, next has nowhere to go", async () => {
  fakeEngine();
  playTracks(tracks(3));
  state().next();
  expect(current()).toBe("t1");
  state().next();
  expect(current()).toBe("t2");
  expect(hasNext(state())).toBe(false);
  state().next();
  expect(current()).toBe("t2");
  state().previous();
  expect(current()).toBe("t1");
});

test("previous after 3 s restarts the track instead", async () => {
  const engine = fakeEngine();
  playTracks(tracks(3), 1);
  await settle();
  usePlayer.setState({ position: 42 });
  state().previous();
  expect(current()).toBe("t1");
  expect(engine.seek).toHaveBeenCalledWith(0);
  expect(state().position).toBe(0);
});

test("repeat all wraps around both ways", () => {
  fakeEngine();
  playTracks(tracks(3), 2);
  state().cycleRepeat();
  expect(state().repeat).toBe("all");
  state().next();
  expect(current()).toBe("t0");
  state().previous();
  expect(current()).toBe("t2");
});

test("the end of a track plays the next one; the end of the queue stops", async () => {
  const engine = fakeEngine();
  playTracks(tracks(2));
  await settle();
  state().ended();
  await settle();
  expect(current()).toBe("t1");
  expect(engine.loaded).toEqual(["t0", "t1"]);
  expect(state().playing).toBe(true);
  state().ended();
  await settle();
  expect(current()).toBe("t1");
  expect(state().playing).toBe(false);
  expect(state().position).toBe(0);
});

test("repeat one plays the track again at its end, but next still moves on", async () => {
  const engine = fakeEngine();
  playTracks(tracks(3));
  await settle();
  state().cycleRepeat();
  state().cycleRepeat();
  expect(state().repeat).toBe("one");
  usePlayer.setState({ position: 99 });
  state().ended();
  expect(current()).toBe("t0");
  expect(engine.seek).toHaveBeenLastCalledWith(0);
  expect(engine.play).toHaveBeenCalled();
  state().next();
  expect(current()).toBe("t1");
});

test("repeat all at the end of the queue goes back to the first track", async () => {
  fakeEngine();
  playTracks(tracks(2), 1);
  state().cycleRepeat();
  state().ended();
  expect(current()).toBe("t0");
});

test("shuffle plays every track once, starting with the current, and previous retraces it", () => {
  fakeEngine();
  let seed = 7;
  setRandom(() => ((seed = (seed * 16807) % 2147483647) / 2147483647));
  playTracks(tracks(10), 4);
  state().toggleShuffle();
  const heard = [current()];
  for (let i = 0; i < 9; i++) {
    state().next();
    heard.push(current());
  }
  expect(heard[0]).toBe("t4");
  expect(new Set(heard).size).toBe(10);
  expect(heard).not.toEqual(ids().slice(4).concat(ids().slice(0, 4))); // not the queue's order
  expect(hasNext(state())).toBe(false);
  state().ended();
  expect(state().playing).toBe(false);
  for (let i = 8; i >= 0; i--) {
    state().previous();
    expect(current()).toBe(heard[i]);
  }
});

test("a track queued while shuffling is still to come", () => {
  fakeEngine();
  playTracks(tracks(5));
  state().toggleShuffle();
  state().next();
  state().next();
  enqueue({ id: "late", title: "Late" });
  const heard: (string | undefined)[] = [];
  while (hasNext(state())) {
    state().next();
    heard.push(current());
  }
  expect(heard).toContain("late");
});

test("volume, mute and normalisation reach the engine; normalisation is kept in localStorage", () => {
  const engine = fakeEngine();
  state().setVolume(0.5);
  expect(engine.setVolume).toHaveBeenLastCalledWith(0.5, false);
  state().toggleMute();
  expect(engine.setVolume).toHaveBeenLastCalledWith(0.5, true);
  state().setNormalise(false);
  expect(engine.setNormalisation).toHaveBeenLastCalledWith(false);
  expect(JSON.parse(localStorage.getItem("veza.player")!).state).toMatchObject({ normalise: false, volume: 0.5 });
});

test("seek stays within the track", async () => {
  const engine = fakeEngine();
  playTracks(tracks(1));
  await settle();
  usePlayer.setState({ duration: 100 });
  state().seek(150);
  expect(engine.seek).toHaveBeenLastCalledWith(100);
  state().seekBy(-500);
  expect(engine.seek).toHaveBeenLastCalledWith(0);
});

test("a track that cannot be played says why and stops", async () => {
  fakeEngine();
  const { setEngine } = await import("./store");
  const failing = { ...fakeEngine() };
  setEngine(failing, async () => {
    throw new Error("not_playable:processing");
  });
  playTracks(tracks(1));
  await settle();
  expect(state().error).toBe("not_playable:processing");
  expect(state().playing).toBe(false);
});

test("playing a list passes over a track that cannot play yet", async () => {
  const engine = fakeEngine();
  const { setEngine } = await import("./store");
  setEngine(engine, async (trackId) => {
    if (trackId === "t1") throw new Error("not_playable:processing");
    return { trackId, url: `/m/${trackId}`, gainDb: 0 };
  });
  playTracks(tracks(3), 1);
  await settle();
  await settle();
  expect(current()).toBe("t2");
  expect(engine.loaded).toEqual(["t2"]);
  expect(state().error).toBeNull();
});

test("the engine is told when a track follows (gapless) and what follows, as the queue changes", async () => {
  const engine = fakeEngine();
  playTracks(tracks(3), 0);
  await settle();
  expect(engine.load).toHaveBeenLastCalledWith(expect.objectContaining({ trackId: "t0" }), expect.objectContaining({ gapless: true }));
  expect(engine.preload).toHaveBeenLastCalledWith(expect.objectContaining({ trackId: "t1" }));
  // Reordering the queue changes what follows.
  state().move(2, 1);
  await settle();
  expect(engine.preload).toHaveBeenLastCalledWith(expect.objectContaining({ trackId: "t2" }));
  // Repeat-one plays the track again: nothing is joined after it.
  state().cycleRepeat(); // all
  state().cycleRepeat(); // one
  await settle();
  expect(engine.preload).toHaveBeenLastCalledWith(null);
  // The last track of a queue without repeat plays on its own.
  state().cycleRepeat(); // off
  state().jump(2);
  await settle();
  expect(current()).toBe("t1");
  expect(engine.load).toHaveBeenLastCalledWith(expect.objectContaining({ trackId: "t1" }), expect.objectContaining({ gapless: false }));
  expect(engine.preload).toHaveBeenLastCalledWith(null);
});

test("when the engine moved into the next track itself, the store follows and loads it to adopt it", async () => {
  const engine = fakeEngine();
  playTracks(tracks(2), 0);
  await settle();
  engineEventsEnded();
  await settle();
  expect(current()).toBe("t1");
  expect(engine.loaded).toEqual(["t0", "t1"]);
});
