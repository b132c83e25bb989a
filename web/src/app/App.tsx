import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy } from "react";
import { BrowserRouter, Route, Routes } from "react-router-dom";

import { LoginPage, PasswordPage, RegisterPage, RequireAuth } from "@/features/auth";
import { ArtistPage, DashboardPage, HistoryPage, HomePage, LikesPage, TrackPage } from "@/features/library";
import { MyPlaylistsPage, PlaylistPage } from "@/features/playlists";
import { SearchPage } from "@/features/search";
import { ApiError } from "@/lib/api";

import { Layout } from "./Layout";
import { NotFound } from "./NotFound";

// The chat's page loads when opened (on a narrow screen, the chat is a page of its own).
const ChatPage = lazy(() => import("@/features/chat").then((m) => ({ default: m.ChatPage })));
// The upload page loads when an artist first opens it.
const UploadPage = lazy(() => import("@/features/upload").then((m) => ({ default: m.UploadPage })));

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        // A 4xx is an answer, not a hiccup: retry only what may pass on a second try.
        retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      },
    },
  });
}

const queryClient = makeQueryClient();

/** The app's pages, inside the layout (header, main, player bar). */
export function AppRoutes() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route path="/" element={<HomePage />} />
        <Route path="/search" element={<SearchPage />} />
        <Route path="/tracks/:id" element={<TrackPage />} />
        <Route path="/play/:id" element={<TrackPage />} />
        <Route path="/u/:handle" element={<ArtistPage />} />
        <Route path="/playlists/:id" element={<PlaylistPage />} />
        <Route path="/playlists" element={<RequireAuth><MyPlaylistsPage /></RequireAuth>} />
        <Route path="/history" element={<RequireAuth><HistoryPage /></RequireAuth>} />
        <Route path="/likes" element={<RequireAuth><LikesPage /></RequireAuth>} />
        <Route path="/dashboard" element={<RequireAuth role="artist"><DashboardPage /></RequireAuth>} />
        <Route path="/login" element={<LoginPage />} />
        <Route path="/register" element={<RegisterPage />} />
        <Route path="/chat" element={<RequireAuth><ChatPage /></RequireAuth>} />
        <Route path="/account/password" element={<RequireAuth><PasswordPage /></RequireAuth>} />
        {/* More pages (the upload page) go here, one line each. */}
        <Route path="/upload" element={<RequireAuth role="artist"><UploadPage /></RequireAuth>} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <AppRoutes />
      </BrowserRouter>
    </QueryClientProvider>
  );
}
