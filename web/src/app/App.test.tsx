import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";

import { AppRoutes } from "@/app/App";
import { useSession } from "@/features/auth";
import i18n from "@/lib/i18n";
import { http, HttpResponse, problem, server } from "@/test/server";

beforeAll(() => server.listen({ onUnhandledRequest: "bypass" }));
afterEach(() => {
  server.resetHandlers();
  useSession.setState({ status: "restoring", user: null });
  localStorage.clear();
  document.documentElement.classList.remove("dark");
  void i18n.changeLanguage("en");
});
afterAll(() => server.close());

function renderApp(url: string) {
  server.use(
    http.post("/api/v1/auth/refresh", () => problem(401, "unauthorized", "no session")),
    http.get("/api/v1/tracks", () => HttpResponse.json({ items: [], next: null })),
  );
  return render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter initialEntries={[url]}>
        <AppRoutes />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

test("an unknown route shows the not-found page with a way home", async () => {
  renderApp("/no/such/page");
  expect(await screen.findByRole("heading", { name: "This page does not exist." })).toBeInTheDocument();
  expect(screen.getByRole("link", { name: "Back to the home page" })).toHaveAttribute("href", "/");
});

test("the layout: skip link to main, the app's name home, the search box, sign-in links for a visitor", async () => {
  renderApp("/");
  expect(await screen.findByRole("heading", { name: "New on Veza" })).toBeInTheDocument();
  expect(screen.getByRole("link", { name: "Skip to content" })).toHaveAttribute("href", "#main");
  expect(screen.getByRole("main")).toHaveAttribute("id", "main");
  expect(screen.getByRole("link", { name: "Veza" })).toHaveAttribute("href", "/");
  expect(screen.getByRole("searchbox", { name: "Search" })).toHaveAttribute("id", "search-box");
  expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
  expect(screen.getByRole("link", { name: "Sign up" })).toHaveAttribute("href", "/register");
  expect(screen.queryByRole("link", { name: "Dashboard" })).toBeNull();
});

test("the theme switch puts the dark class on the page and remembers the choice", async () => {
  const user = userEvent.setup();
  renderApp("/");
  const dark = await screen.findByRole("switch", { name: "Dark theme" });
  expect(dark).not.toBeChecked();

  await user.click(dark);

  expect(dark).toBeChecked();
  expect(document.documentElement).toHaveClass("dark");
  expect(localStorage.getItem("veza.theme")).toBe("dark");
});

test("the language switch turns the page French and says so to the browser", async () => {
  const user = userEvent.setup();
  renderApp("/");
  await screen.findByRole("heading", { name: "New on Veza" });

  await user.click(screen.getByRole("button", { name: "Language: English" }));
  await user.click(screen.getByRole("menuitemradio", { name: "Français" }));

  expect(await screen.findByRole("heading", { name: "Nouveautés sur Veza" })).toBeInTheDocument();
  expect(screen.getByRole("link", { name: "Aller au contenu" })).toBeInTheDocument();
  expect(document.documentElement).toHaveAttribute("lang", "fr");
  expect(screen.getByRole("button", { name: "Langue : Français" })).toBeInTheDocument();
  expect(localStorage.getItem("veza.lang")).toBe("fr");
});
