import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";

import { setAccessToken } from "@/lib/api";
import { currentUrl, renderPage } from "@/test/render";
import { http, HttpResponse, problem, server } from "@/test/server";

import { useSession } from "../store";
import { LoginPage, RegisterPage } from "./forms";

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  setAccessToken(null);
  useSession.setState({ status: "signedOut", user: null });
});
afterAll(() => server.close());

const ana = { id: "u1", handle: "ana", email: "ana@example.org", display_name: "Ana", role: "artist" };
const pages = { "/login": <LoginPage />, "/register": <RegisterPage />, "/": <p>home</p>, "/dashboard": <p>dashboard</p> };

test("sign-up shows each of the API's field errors beside its field", async () => {
  const user = userEvent.setup();
  server.use(
    http.post("/api/v1/auth/register", () =>
      problem(422, "validation_error", "the request is not valid", [
        { field: "password", message: "String should have at least 10 characters" },
        { field: "handle", message: "letters, digits, - and _ only" },
      ]),
    ),
  );
  renderPage(pages, "/register");

  await user.type(screen.getByLabelText("Handle"), "a b");
  await user.type(screen.getByLabelText("Email"), "a@example.org");
  await user.type(screen.getByLabelText("Password"), "short");
  await user.click(screen.getByRole("button", { name: "Create my account" }));

  const password = screen.getByLabelText("Password");
  await waitFor(() => expect(password).toHaveAccessibleDescription(/String should have at least 10 characters/));
  expect(password).toHaveAttribute("aria-invalid", "true");
  expect(screen.getByLabelText("Handle")).toHaveAccessibleDescription(/letters, digits, - and _ only/);
  expect(screen.getByLabelText("Email")).not.toHaveAttribute("aria-invalid");
});

test("signing up as an artist sends the role in cookie mode and opens the dashboard", async () => {
  const user = userEvent.setup();
  let sent: { body: Record<string, unknown>; session: string | null } | null = null;
  server.use(
    http.post("/api/v1/auth/register", async ({ request }) => {
      sent = { body: (await request.json()) as Record<string, unknown>, session: request.headers.get("X-Veza-Session") };
      return HttpResponse.json({ access_token: "t1", expires_in: 300, token_type: "Bearer", user: ana }, { status: 201 });
    }),
    http.get("/api/v1/me", ({ request }) =>
      request.headers.get("Authorization") === "Bearer t1" ? HttpResponse.json(ana) : problem(401, "unauthorized"),
    ),
  );
  renderPage(pages, "/register");

  await user.click(screen.getByRole("radio", { name: "An artist (I upload music)" }));
  await user.type(screen.getByLabelText("Handle"), "ana");
  await user.type(screen.getByLabelText("Email"), "ana@example.org");
  await user.type(screen.getByLabelText("Password"), "correct horse battery");
  await user.click(screen.getByRole("button", { name: "Create my account" }));

  await screen.findByText("dashboard");
  expect(sent!.session).toBe("cookie");
  expect(sent!.body).toMatchObject({ handle: "ana", role: "artist", password: "correct horse battery" });
  expect(useSession.getState().user?.handle).toBe("ana");
});

test("a wrong password is said in the form; the fields stay", async () => {
  const user = userEvent.setup();
  server.use(http.post("/api/v1/auth/login", () => problem(401, "invalid_credentials", "wrong handle, email or password")));
  renderPage(pages, "/login");

  await user.type(screen.getByLabelText("Handle or email"), "ana");
  await user.type(screen.getByLabelText("Password"), "not it at all");
  await user.click(screen.getByRole("button", { name: "Log in" }));

  expect(await screen.findByRole("alert")).toHaveTextContent("wrong handle, email or password");
  expect(screen.getByLabelText("Handle or email")).toHaveValue("ana");
  expect(useSession.getState().user).toBeNull();
});

test("login field errors show beside the fields", async () => {
  const user = userEvent.setup();
  server.use(
    http.post("/api/v1/auth/login", () =>
      problem(422, "validation_error", "the request is not valid", [{ field: "login", message: "Field required" }]),
    ),
  );
  renderPage(pages, "/login");

  await user.type(screen.getByLabelText("Password"), "x");
  await user.click(screen.getByRole("button", { name: "Log in" }));

  await waitFor(() => expect(screen.getByLabelText("Handle or email")).toHaveAccessibleDescription("Field required"));
  expect(screen.queryByRole("alert")).toBeNull();
});

test("logging in goes back to the page that asked for it, never to another site", async () => {
  const user = userEvent.setup();
  server.use(
    http.post("/api/v1/auth/login", () => HttpResponse.json({ access_token: "t2", expires_in: 300, user: ana })),
    http.get("/api/v1/me", () => HttpResponse.json(ana)),
  );
  renderPage(pages, "/login?next=%2F%2Fevil.example%2F");

  await user.type(screen.getByLabelText("Handle or email"), "ana");
  await user.type(screen.getByLabelText("Password"), "correct horse battery");
  await user.click(screen.getByRole("button", { name: "Log in" }));

  await screen.findByText("home");
  expect(currentUrl()).toBe("/");
});

test("a revoked session lands on the login page with the reason as a sentence", () => {
  renderPage(pages, "/login?reason=session_revoked");
  expect(screen.getByRole("status")).toHaveTextContent(/Your session was ended .* Please log in again\./);
});

test("a signed-in user who opens the login page goes on to ?next=, or home from the sign-up page", async () => {
  useSession.setState({ status: "signedIn", user: { ...ana, role: "artist" as const } });
  renderPage({ ...pages, "/playlists": <p>my playlists</p> }, "/login?next=%2Fplaylists");
  expect(await screen.findByText("my playlists")).toBeInTheDocument();
  expect(currentUrl()).toBe("/playlists");
  expect(screen.queryByRole("heading", { name: "Log in" })).not.toBeInTheDocument();
});

test("a signed-in user who opens the sign-up page goes home, and never to another site", async () => {
  useSession.setState({ status: "signedIn", user: { ...ana, role: "artist" as const } });
  const { unmount } = renderPage(pages, "/register");
  expect(await screen.findByText("home")).toBeInTheDocument();
  expect(screen.queryByRole("heading", { name: "Sign up" })).not.toBeInTheDocument();
  unmount();
  renderPage(pages, "/login?next=%2F%2Fevil.example");
  expect(await screen.findByText("home")).toBeInTheDocument();
  expect(currentUrl()).toBe("/");
});
