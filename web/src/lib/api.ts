/**
 * The one API client: it keeps the access token in memory, refreshes once on
 * `token_expired` (the refresh token rides in an HttpOnly cookie the script never sees), and
 * turns every problem+json answer into one error type the UI shows.
 */
import { reportAnswer, reportNoAnswer } from "./connection";

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { field: string; message: string }[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string>;

  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.name = "ApiError";
    this.status = problem.status;
    this.code = problem.code;
    this.fields = Object.fromEntries((problem.errors ?? []).map((e) => [e.field, e.message]));
  }
}

export const API = "/api/v1";

/** Header the API asks of cookie-mode auth calls: a form on another site cannot send it. */
export const SESSION_HEADER = { "X-Veza-Session": "cookie" } as const;

type Listener = (reason: string | null) => void;

let accessToken: string | null = null;
let refreshing: Promise<RefreshResult> | null = null;
const signedOut = new Set<Listener>();

export function setAccessToken(token: string | null): void {
  accessToken = token;
}

export function getAccessToken(): string | null {
  return accessToken;
}

/** Be told when the session ends (signed out elsewhere, revoked, reused refresh token). */
export function onSignedOut(listener: Listener): () => void {
  signedOut.add(listener);
  return () => signedOut.delete(listener);
}

function endSession(reason: string | null): void {
  accessToken = null;
  for (const listener of signedOut) listener(reason);
}

/** Another channel learnt that the session ended (the chat socket closed with 4001): sign out. */
export function sessionEnded(reason: string): void {
  endSession(reason);
}

async function toError(response: Response): Promise<ApiError> {
  let problem: Problem;
  try {
    problem = (await response.json()) as Problem;
  } catch {
    problem = {
      type: "about:blank",
      title: response.statusText || "Error",
      status: response.status,
      detail: `the server answered ${response.status}`,
      code: "http_error",
    };
  }
  return new ApiError({ ...problem, status: problem.status ?? response.status });
}

export interface TokenAnswer {
  access_token: string;
  expires_in: number;
  user: unknown;
}

/**
 * Run one refresh at a time across the app's tabs: the cookie rotates on each refresh, so a tab
 * sending the cookie another tab is spending would present a spent token and end the session.
 */
async function oneTabAtATime(run: () => Promise<Response>): Promise<Response> {
  // `await` unwraps the callback's promise (the DOM typings of locks.request nest it).
  return typeof navigator !== "undefined" && "locks" in navigator ? await navigator.locks.request("veza-refresh", run) : run();
}

/**
 * What a refresh came to: a new access token, no session (401: none, or it ended), or no answer
 * to go by (a network error, 429, 5xx): the session may well be alive, so nothing is ended.
 */
export type RefreshResult = "refreshed" | "noSession" | "unreachable";

/** Exchange the refresh cookie for a new access token, saying why when it could not. */
export function refreshSessionResult(): Promise<RefreshResult> {
  refreshing ??= (async (): Promise<RefreshResult> => {
    try {
      const response = await oneTabAtATime(() =>
        heard(
          fetch(`${API}/auth/refresh`, {
            method: "POST",
            credentials: "same-origin",
            headers: { ...SESSION_HEADER },
          }),
        ),
      );
      if (response.status === 401) {
        const error = await toError(response);
        if (accessToken !== null || error.code === "token_reused" || error.code === "session_revoked") {
          endSession(error.code);
        }
        return "noSession";
      }
      if (!response.ok) return "unreachable";
      const answer = (await response.json()) as TokenAnswer;
      accessToken = answer.access_token;
      return "refreshed";
    } catch {
      return "unreachable";
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Exchange the refresh cookie for a new access token; false when that did not happen. */
export async function refreshSession(): Promise<boolean> {
  return (await refreshSessionResult()) === "refreshed";
}

/** A fetch, its answer or its silence reported to the connection's state. */
async function heard(sent: Promise<Response>): Promise<Response> {
  try {
    const response = await sent;
    reportAnswer();
    return response;
  } catch (error) {
    // No answer at all (not a request the app cancelled itself).
    if (!(error instanceof DOMException && error.name === "AbortError")) reportNoAnswer();
    throw error;
  }
}

export interface RequestOptions extends Omit<RequestInit, "body"> {
  json?: unknown;
  body?: BodyInit | null;
}

/** Send a request to the API; resolve with its JSON (or null for 204), reject with ApiError. */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const send = () => {
    const headers = new Headers(options.headers);
    if (accessToken) headers.set("Authorization", `Bearer ${accessToken}`);
    let body = options.body;
    if (options.json !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(options.json);
    }
    return heard(
      fetch(path.startsWith("/") ? path : `${API}/${path}`, {
        ...options,
        headers,
        body,
        credentials: "same-origin",
      }),
    );
  };
  let response = await send();
  if (response.status === 401 && accessToken) {
    const error = await toError(response.clone());
    if (error.code === "token_expired" && (await refreshSession())) {
      response = await send();
    } else if (error.code === "session_revoked" || error.code === "token_reused" || error.code === "invalid_token") {
      endSession(error.code);
      throw error;
    }
  }
  if (!response.ok) throw await toError(response);
  if (response.status === 204) return null as T;
  return (await response.json()) as T;
}
