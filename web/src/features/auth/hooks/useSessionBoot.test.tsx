import { act, screen } from "@testing-library/react";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";

import { sessionEnded, setAccessToken } from "@/lib/api";
import { currentUrl, renderPage } from "@/test/render";
import { server } from "@/test/server";

import { LoginPage } from "../components/forms";
import { useSession } from "../store";
import { useSignedOutRedirect } from "./useSessionBoot";

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
