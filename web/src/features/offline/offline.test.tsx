import { QueryClient, QueryClientProvider, onlineManager } from "@tanstack/react-query";
import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { afterAll, afterEach, beforeAll, expect, test, vi } from "vitest";

import { AppRoutes } from "@/app/App";
import { useSession } from "@/features/auth";
import { useConnection } from "@/lib/connection";
import i18n from "@/lib/i18n";
import { http, HttpResponse, problem, server } from "@/test/server";

import { PROBE_DELAYS_MS, retry } from ".";

const track = { id: "t1", title: "First Light", artist: "Aube", owner_handle: "aube", status: "ready", duration_s: 200, stream: null, cover_url: null };
const probeDelays = [...PROBE_DELAYS_MS];

beforeAll(() => server.listen({ onUnhandledRequest: "bypass" }));
afterEach(() => {
  server.resetHandlers();
  useSession.setState({ status: "restoring", user: null });
  useConnection.setState({ state: "online", reached: false, stranded: false });
  onlineManager.setOnline(true);
  setBrowserOnline(true);
  PROBE_DELAYS_MS.splice(0, PROBE_DELAYS_MS.length, ...probeDelays);
  vi.restoreAllMocks();
  void i18n.changeLanguage("en");
});
afterAll(() => server.close());

function setBrowserOnline(online: boolean) {
  Object.defineProperty(navigator, "onLine", { configurable: true, get: () => online });
}

/** The browser's network goes (or comes back), as Chromium tells a page. */
function goOnline(online: boolean) {
  setBrowserOnline(online);
  act(() => {
    window.dispatchEvent(new Event(online ? "online" : "offline"));
  });
}

function renderApp(url = "/") {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={[url]}>
        <AppRoutes />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return queryClient;
}

const noAnswer = () => HttpResponse.error();
const banner = () => screen.getAllByRole("status").find((el) => el.closest("header"))!;

test("a page opened offline shows the offline page: what still works, and Try again reloads", async () => {
  const user = userEvent.setup();
  const reload = vi.spyOn(retry, "reload").mockImplementation(() => {});
  server.use(http.post("/api/v1/auth/refresh", noAnswer), http.get("/api/v1/tracks", noAnswer));
  setBrowserOnline(false);
  renderApp("/");

  const main = screen.getByRole("main");
  expect(await within(main).findByRole("heading", { level: 1, name: "You are offline" })).toBeInTheDocument();
  expect(within(main).getByRole("heading", { name: "What still works" })).toBeInTheDocument();
  expect(within(main).getByText("The app opens, and its theme and language can be changed.")).toBeInTheDocument();
  expect(within(main).queryByRole("heading", { name: "New on Veza" })).toBeNull();
  // The page says it all: no banner above it.
  expect(banner()).toHaveTextContent("");

  goOnline(true);
  expect(within(main).getByRole("status")).toHaveTextContent("The connection is back: try again to load the page.");
  await user.click(within(main).getByRole("button", { name: "Try again" }));
  expect(reload).toHaveBeenCalledTimes(1);
});

test("a page opened while the server does not answer says Veza cannot be reached, in French too", async () => {
  server.use(http.post("/api/v1/auth/refresh", noAnswer), http.get("/api/v1/tracks", noAnswer), http.get("/healthz", noAnswer));
  await i18n.changeLanguage("fr");
  renderApp("/");
  expect(await screen.findByRole("heading", { level: 1, name: "Veza est injoignable" })).toBeInTheDocument();
  expect(screen.getByRole("heading", { name: "Ce qui marche encore" })).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Réessayer" })).toBeInTheDocument();
});

test("the browser going offline while the app runs: a banner says so; back online it goes and the page asks again", async () => {
  let asked = 0;
  server.use(
    http.post("/api/v1/auth/refresh", () => problem(401, "unauthorized", "no session")),
    http.get("/api/v1/tracks", () => {
      asked += 1;
      return HttpResponse.json({ items: asked > 1 ? [track] : [], next: null });
    }),
  );
  const queryClient = renderApp("/");
  expect(await screen.findByRole("heading", { name: "New on Veza" })).toBeInTheDocument();
  expect(banner()).toHaveTextContent("");

  goOnline(false);
  expect(banner()).toHaveTextContent("Offline — pages load again when you're back; an upload cut off must be sent again.");
  // The page stays as it was (not replaced by the offline page); its queries wait.
  expect(screen.getByRole("heading", { name: "New on Veza" })).toBeInTheDocument();
  void queryClient.invalidateQueries();
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(asked).toBe(1);

  goOnline(true);
  expect(banner()).toHaveTextContent("");
  expect(await screen.findByRole("link", { name: "First Light" })).toBeInTheDocument();
});

test("a server that stops answering: the banner says so, and goes once the server answers again", async () => {
  PROBE_DELAYS_MS.splice(0, PROBE_DELAYS_MS.length, 20);
  let down = false;
  let asked = 0;
  server.use(
    http.post("/api/v1/auth/refresh", () => problem(401, "unauthorized", "no session")),
    http.get("/api/v1/tracks", () => {
      if (down) return HttpResponse.error();
      asked += 1;
      return HttpResponse.json({ items: asked > 1 ? [track] : [], next: null });
    }),
    http.get("/healthz", () => (down ? HttpResponse.error() : HttpResponse.json({ status: "ok" }))),
  );
  const queryClient = renderApp("/");
  expect(await screen.findByRole("heading", { name: "New on Veza" })).toBeInTheDocument();

  down = true;
  await act(() => queryClient.refetchQueries());
  expect(banner()).toHaveTextContent("Veza cannot be reached — pages load again once it answers; an upload cut off must be sent again.");
  expect(screen.queryByRole("heading", { name: "Veza cannot be reached" })).toBeNull();

  down = false;
  expect(await screen.findByRole("link", { name: "First Light" })).toBeInTheDocument();
  expect(banner()).toHaveTextContent("");
});
