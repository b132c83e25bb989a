import { act, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";

import { sessionEnded, setAccessToken } from "@/lib/api";
import i18n from "@/lib/i18n";
import { currentUrl, renderPage } from "@/test/render";
import { http, HttpResponse, problem, server } from "@/test/server";

import { LoginPage } from "../components/forms";
import { SessionRestoring } from "../components/SessionRestoring";
import { useSession } from "../store";
import { RESTORE_RETRY_DELAYS_MS, useSessionBoot, useSignedOutRedirect } from "./useSessionBoot";

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

function Watcher({ children }: { children: React.ReactNode }) {
  useSignedOutRedirect();
  return <>{children}</>;
}

test("a session revoked elsewhere returns to the login page, says why, and comes back after", async () => {
  useSession.setState({ status: "signedIn", user: { id: "u1", handle: "ana", email: null, display_name: null, role: "artist" } });
  setAccessToken("t");
  renderPage({ "/playlists": <Watcher>my playlists</Watcher>, "/login": <Watcher><LoginPage /></Watcher> }, "/playlists?x=1");

  act(() => sessionEnded("session_revoked"));

  expect(await screen.findByRole("heading", { name: "Log in" })).toBeInTheDocument();
  expect(currentUrl()).toBe("/login?reason=session_revoked&next=%2Fplaylists%3Fx%3D1");
  expect(screen.getByRole("status")).toHaveTextContent("Your session was ended");
  expect(useSession.getState().user).toBeNull();
});

describe("restoring the session on page load", () => {
  const ana = { id: "u1", handle: "ana", email: "ana@example.org", display_name: "Ana", role: "artist" };
  const delays = [...RESTORE_RETRY_DELAYS_MS];

  function Page() {
    useSessionBoot();
    const { status, user } = useSession();
    if (status === "restoring") return <SessionRestoring />;
    return <p>{user ? `signed in as ${user.handle}` : "signed out"}</p>;
  }

  beforeEach(() => {
    // The same backoff, in milliseconds rather than seconds.
    RESTORE_RETRY_DELAYS_MS.splice(0, Infinity, 10, 20, 40, 80);
    setAccessToken(null);
    useSession.setState({ status: "restoring", user: null, restoreTrouble: null });
    document.cookie = "veza_session=1; path=/";
  });
  afterEach(() => {
    RESTORE_RETRY_DELAYS_MS.splice(0, Infinity, ...delays);
    document.cookie = "veza_session=; path=/; max-age=0";
  });

  test("without the veza_session cookie it is signed out without asking the server", async () => {
    document.cookie = "veza_session=; path=/; max-age=0";
    let refreshes = 0;
    server.use(
      http.post("/api/v1/auth/refresh", () => {
        refreshes += 1;
        return problem(401, "unauthorized", "no session cookie");
      }),
    );
    renderPage({ "/": <Page /> }, "/");

    expect(await screen.findByText("signed out")).toBeInTheDocument();
    expect(refreshes).toBe(0);
  });

  test("with the veza_session cookie it asks the server once and is signed in", async () => {
    let refreshes = 0;
    server.use(
      http.post("/api/v1/auth/refresh", () => {
        refreshes += 1;
        return HttpResponse.json({ access_token: "t1", expires_in: 300, user: ana });
      }),
      meAs("t1"),
    );
    renderPage({ "/": <Page /> }, "/");

    expect(await screen.findByText("signed in as ana")).toBeInTheDocument();
    expect(refreshes).toBe(1);
  });

  function meAs(token: string) {
    return http.get("/api/v1/me", ({ request }) =>
      request.headers.get("Authorization") === `Bearer ${token}` ? HttpResponse.json(ana) : problem(401, "unauthorized"),
    );
  }

  test("no session (401) is signed out at once, without a message", async () => {
    let refreshes = 0;
    server.use(
      http.post("/api/v1/auth/refresh", () => {
        refreshes += 1;
        return problem(401, "unauthorized", "no session cookie");
      }),
    );
    renderPage({ "/": <Page /> }, "/");

    expect(await screen.findByText("signed out")).toBeInTheDocument();
    expect(refreshes).toBe(1);
    expect(screen.queryByText(/Could not restore your session/)).not.toBeInTheDocument();
  });

  test("a server that does not answer leaves the user unknown, says so, and is asked again", async () => {
    let refreshes = 0;
    server.use(
      http.post("/api/v1/auth/refresh", () => {
        refreshes += 1;
        if (refreshes === 1) return problem(503, "unavailable");
        if (refreshes === 2) return problem(429, "rate_limited");
        if (refreshes === 3) return HttpResponse.error();
        return HttpResponse.json({ access_token: "t4", expires_in: 300, user: ana });
      }),
      meAs("t4"),
    );
    renderPage({ "/": <Page /> }, "/");

    expect(await screen.findByRole("status")).toHaveTextContent("Could not restore your session: the server did not answer. Retrying…");
    expect(useSession.getState().status).toBe("restoring");
    expect(await screen.findByText("signed in as ana")).toBeInTheDocument();
    expect(refreshes).toBe(4);
  });

  test("after a few tries it stops, keeps the user unknown, and offers to try again", async () => {
    const user = userEvent.setup();
    let up = false;
    let refreshes = 0;
    server.use(
      http.post("/api/v1/auth/refresh", () => {
        refreshes += 1;
        return up ? HttpResponse.json({ access_token: "t9", expires_in: 300, user: ana }) : HttpResponse.error();
      }),
      meAs("t9"),
    );
    renderPage({ "/": <Page /> }, "/");

    expect(await screen.findByRole("alert")).toHaveTextContent("Could not restore your session: the server did not answer.");
    expect(refreshes).toBe(5);
    expect(useSession.getState().status).toBe("restoring");
    expect(screen.queryByText("signed out")).not.toBeInTheDocument();

    up = true;
    await user.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByText("signed in as ana")).toBeInTheDocument();
  });

  test("the message is in French too", async () => {
    await i18n.changeLanguage("fr");
    try {
      server.use(http.post("/api/v1/auth/refresh", () => problem(502, "bad_gateway")));
      renderPage({ "/": <Page /> }, "/");
      expect(await screen.findByRole("status")).toHaveTextContent("Impossible de rétablir votre session : le serveur n’a pas répondu. Nouvel essai…");
      expect(await screen.findByRole("button", { name: "Réessayer" })).toBeInTheDocument();
    } finally {
      await i18n.changeLanguage("en");
    }
  });
});
