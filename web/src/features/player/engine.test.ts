import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";

import { setAccessToken } from "@/lib/api";
import { http, HttpResponse, server } from "@/test/server";

import { authorisePlaylistRequest, sendsToken } from "./engine";

const origin = window.location.origin;
const track = "0b6f3a52-7c55-4c8e-9d5e-2f2a4f3d9c11";

function jwt(expS: number): string {
  const part = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "");
  return `${part({ alg: "HS256" })}.${part({ sub: "u", exp: expS })}.sig`;
}

function fakeXhr() {
  return { readyState: 0, open: vi.fn(), setRequestHeader: vi.fn() };
}

describe("which player requests carry the access token", () => {
  it("sends it to the API's own playlists, relative or absolute", () => {
    expect(sendsToken(`/api/v1/tracks/${track}/master.m3u8`)).toBe(true);
    expect(sendsToken(`${origin}/api/v1/tracks/${track}/master.m3u8?access=g.r.s`)).toBe(true);
    expect(sendsToken(`${origin}/api/v1/tracks/${track}/hls/aac_128k/index.m3u8`)).toBe(true);
  });

  it("never sends it to segments, objects or other origins", () => {
    expect(sendsToken(`${origin}/files/hls/${track}/aac_128k/seg_00001.m4s?expires=1&signature=x`)).toBe(false);
    expect(sendsToken(`${origin}/files/hls/${track}/aac_128k/index.m3u8`)).toBe(false);
    expect(sendsToken(`https://bucket.s3.example.com/hls/${track}/aac_128k/init.mp4?X-Amz-Signature=abc`)).toBe(false);
    expect(sendsToken(`https://evil.example/api/v1/tracks/${track}/master.m3u8`)).toBe(false);
    expect(sendsToken(`${origin}/api/v1/tracks/${track}`)).toBe(false);
    expect(sendsToken(`${origin}/api/v1.m3u8`)).toBe(false);
  });
});

describe("hls.js request setup", () => {
  beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
  afterEach(() => {
    server.resetHandlers();
    setAccessToken(null);
  });
  afterAll(() => server.close());

  it("puts the bearer token on a playlist request of a signed-in listener", async () => {
    const token = jwt(Math.floor(Date.now() / 1000) + 600);
    setAccessToken(token);
    const xhr = fakeXhr();
    const url = `${origin}/api/v1/tracks/${track}/master.m3u8`;
    await authorisePlaylistRequest(xhr as unknown as XMLHttpRequest, url);
    expect(xhr.open).toHaveBeenCalledWith("GET", url, true);
    expect(xhr.setRequestHeader).toHaveBeenCalledWith("Authorization", `Bearer ${token}`);
  });

  it("adds nothing to a segment, nor without a session", async () => {
    setAccessToken(jwt(Math.floor(Date.now() / 1000) + 600));
    const segment = fakeXhr();
    await authorisePlaylistRequest(segment as unknown as XMLHttpRequest, `${origin}/files/hls/${track}/aac_128k/seg_00001.m4s`);
    expect(segment.setRequestHeader).not.toHaveBeenCalled();
    setAccessToken(null);
    const anonymous = fakeXhr();
    await authorisePlaylistRequest(anonymous as unknown as XMLHttpRequest, `${origin}/api/v1/tracks/${track}/master.m3u8`);
    expect(anonymous.setRequestHeader).not.toHaveBeenCalled();
  });

  it("refreshes an expired token first", async () => {
    setAccessToken(jwt(Math.floor(Date.now() / 1000) - 60));
    const fresh = jwt(Math.floor(Date.now() / 1000) + 900);
    let refreshed = 0;
    server.use(
      http.post("/api/v1/auth/refresh", () => {
        refreshed += 1;
        return HttpResponse.json({ access_token: fresh, expires_in: 900, user: {} });
      }),
    );
    const xhr = fakeXhr();
    await authorisePlaylistRequest(xhr as unknown as XMLHttpRequest, `/api/v1/tracks/${track}/master.m3u8`);
    expect(refreshed).toBe(1);
    expect(xhr.setRequestHeader).toHaveBeenCalledWith("Authorization", `Bearer ${fresh}`);
  });
});
