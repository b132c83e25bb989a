/** Render a page as the app does: TanStack Query, a router at a given URL, the toasts. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router-dom";

import { Toaster } from "@/components/Toast";

let lastLocation = "";

function LocationProbe() {
  const location = useLocation();
  lastLocation = location.pathname + location.search;
  return null;
}

/** Where the router is now (path and query), as the address bar would show it. */
export function currentUrl(): string {
  return lastLocation;
}

export function renderPage(routes: Record<string, ReactNode>, url: string) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const result = render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={[url]}>
        <LocationProbe />
        <Routes>
          {Object.entries(routes).map(([path, element]) => (
            <Route key={path} path={path} element={element} />
          ))}
        </Routes>
        <Toaster />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return { ...result, queryClient };
}
