import { afterAll, afterEach, beforeAll, expect, test, vi } from "vitest";

import { ApiError, getAccessToken, onSignedOut, request, setAccessToken } from "@/lib/api";
import { http, HttpResponse, problem, server } from "@/test/server";

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  setAccessToken(null);
});
afterAll(() => server.close());

const me = { id: "u1", handle: "ana", email: null, display_name: null, role: "artist" };

test("an expired access token is refreshed once through the cookie and the request retried", async () => {
  const refreshes: Request[] = [];
  const seen: (string | null)[] = [];
  server.use(
    http.get("/api/v1/me", ({ request }) => {
      seen.push(request.headers.get("Authorization"));
      return request.headers.get("Authorization") === "Bearer fresh" ? HttpResponse.json(me) : problem(401, "token_expired");
    }),
    http.post("/api/v1/auth/refresh", ({ request }) => {
      refreshes.push(request);
      return HttpResponse.json({ access_token: "fresh", expires_in: 300, token_type: "Bearer", user: me });
    }),
  );
  setAccessToken("stale");

  await expect(request("me")).resolves.toEqual(me);

  expect(refreshes).toHaveLength(1);
  expect(refreshes[0]!.headers.get("X-Veza-Session")).toBe("cookie");
  expect(seen).toEqual(["Bearer stale", "Bearer fresh"]);
  expect(getAccessToken()).toBe("fresh");
});

test("two requests that expire together share one refresh", async () => {
  let refreshes = 0;
  server.use(
    http.get("/api/v1/me", ({ request }) =>
      request.headers.get("Authorization") === "Bearer fresh" ? HttpResponse.json(me) : problem(401, "token_expired"),
    ),
    http.post("/api/v1/auth/refresh", async () => {
      refreshes += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return HttpResponse.json({ access_token: "fresh", expires_in: 300, user: me });
    }),
  );
  setAccessToken("stale");

  await Promise.all([request("me"), request("me")]);

  expect(refreshes).toBe(1);
});

test("a second 401 after the refresh is an error, not another refresh", async () => {
  let refreshes = 0;
  let calls = 0;
  server.use(
    http.get("/api/v1/me", () => {
      calls += 1;
      return problem(401, "token_expired", "the access token has expired");
    }),
    http.post("/api/v1/auth/refresh", () => {
      refreshes += 1;
      return HttpResponse.json({ access_token: "fresh", expires_in: 300, user: me });
    }),
  );
  setAccessToken("stale");

  const error = await request("me").catch((e: unknown) => e);

  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).code).toBe("token_expired");
  expect(refreshes).toBe(1);
  expect(calls).toBe(2);
});

test("a revoked session signs out with its reason and forgets the token", async () => {
  let refreshes = 0;
  server.use(
    http.get("/api/v1/me", () => problem(401, "session_revoked", "the session was revoked")),
    http.post("/api/v1/auth/refresh", () => {
      refreshes += 1;
      return HttpResponse.json({ access_token: "fresh", expires_in: 300, user: me });
    }),
  );
  const listener = vi.fn();
  const stop = onSignedOut(listener);
  setAccessToken("stale");

  const error = await request("me").catch((e: unknown) => e);
  stop();

  expect((error as ApiError).code).toBe("session_revoked");
  expect(listener).toHaveBeenCalledExactlyOnceWith("session_revoked");
  expect(getAccessToken()).toBeNull();
  expect(refreshes).toBe(0);
});

test("a refresh token used twice signs out with token_reused", async () => {
  server.use(
    http.get("/api/v1/me", () => problem(401, "token_expired")),
    http.post("/api/v1/auth/refresh", () => problem(401, "token_reused", "this refresh token was already used")),
  );
  const listener = vi.fn();
  const stop = onSignedOut(listener);
  setAccessToken("stale");

  await expect(request("me")).rejects.toBeInstanceOf(ApiError);
  stop();

  expect(listener).toHaveBeenCalledExactlyOnceWith("token_reused");
  expect(getAccessToken()).toBeNull();
});

test("problem+json field errors are kept per field", async () => {
  server.use(
    http.post("/api/v1/auth/register", () =>
      problem(422, "validation_error", "the request is not valid", [{ field: "password", message: "at least 10 characters" }]),
    ),
  );

  const error = (await request("auth/register", { method: "POST", json: {} }).catch((e: unknown) => e)) as ApiError;

  expect(error.status).toBe(422);
  expect(error.fields).toEqual({ password: "at least 10 characters" });
});
