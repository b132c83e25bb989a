import { ApiError, refreshSessionResult, request, SESSION_HEADER, setAccessToken } from "@/lib/api";

export type Role = "listener" | "artist" | "admin";

export interface Me {
  id: string;
  handle: string;
  email: string | null;
  display_name: string | null;
  role: Role;
}

interface Tokens {
  access_token: string;
  expires_in: number;
}

export interface RegisterInput {
  handle: string;
  email: string;
  password: string;
  display_name?: string | undefined;
  role: "listener" | "artist";
}

export const authKeys = {
  all: ["auth"] as const,
  me: () => [...authKeys.all, "me"] as const,
};

export function fetchMe(): Promise<Me> {
  return request<Me>("me");
}

async function signIn(path: string, json: unknown): Promise<Me> {
  const tokens = await request<Tokens>(path, { method: "POST", json, headers: SESSION_HEADER });
  setAccessToken(tokens.access_token);
  return fetchMe();
}

export function register(input: RegisterInput): Promise<Me> {
  return signIn("auth/register", { ...input, display_name: input.display_name || undefined });
}

export function login(login: string, password: string): Promise<Me> {
  return signIn("auth/login", { login, password });
}

export async function logout(): Promise<void> {
  try {
    await request<null>("auth/logout", { method: "POST", headers: SESSION_HEADER });
  } finally {
    setAccessToken(null);
  }
}

export async function changePassword(current_password: string, new_password: string): Promise<void> {
  const tokens = await request<Tokens>("auth/password", {
    method: "POST",
    json: { current_password, new_password },
    headers: SESSION_HEADER,
  });
  setAccessToken(tokens.access_token);
}

/** What restoring the session after a reload found: who is signed in, nobody, or no answer. */
export type Restored = { user: Me } | "signedOut" | "unreachable";

/** Whether the API left its readable `veza_session` cookie (no secret) beside the refresh cookie. */
export function mayHaveSession(): boolean {
  return document.cookie.split(";").some((part) => part.trim() === "veza_session=1");
}

/** After a reload: trade the refresh cookie for an access token, then ask who we are. */
export async function restore(): Promise<Restored> {
  // No companion cookie, no refresh cookie: an anonymous visit asks nothing (and logs no 401).
  if (!mayHaveSession()) return "signedOut";
  const refreshed = await refreshSessionResult();
  if (refreshed !== "refreshed") return refreshed === "noSession" ? "signedOut" : "unreachable";
  try {
    return { user: await fetchMe() };
  } catch (error) {
    return error instanceof ApiError && error.status === 401 ? "signedOut" : "unreachable";
  }
}
