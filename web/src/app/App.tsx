import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { BrowserRouter, Link, Route, Routes } from "react-router-dom";

import { ApiError } from "@/lib/api";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 30_000,
      // A 4xx is an answer, not a hiccup: retry only what may pass on a second try.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
    },
  },
});

function NotFound() {
  const { t } = useTranslation();
  return (
    <section className="p-8">
      <h1 className="text-2xl font-semibold">{t("app.notFound")}</h1>
      <Link className="text-violet-700 underline dark:text-violet-300" to="/">
        {t("app.home")}
      </Link>
    </section>
  );
}

function Home() {
  const { t } = useTranslation();
  return (
    <section className="p-8">
      <h1 className="text-2xl font-semibold">{t("app.name")}</h1>
    </section>
  );
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/" element={<Home />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <main id="main">
          <AppRoutes />
        </main>
      </BrowserRouter>
    </QueryClientProvider>
  );
}
