import { lazy, Suspense, useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, NavLink, Outlet, useLocation } from "react-router-dom";

import { Loading } from "@/components/Feedback";
import { Toaster } from "@/components/Toast";
import { SessionRestoring, UserMenu, useCurrentUser, useSession, useSessionBoot, useSignedOutRedirect } from "@/features/auth";
import { OfflineBanner, OfflinePage } from "@/features/offline";
// The panel's open state only (its store): through the index, the whole chat would come with
// the first paint; it loads with the chat, below.
// eslint-disable-next-line no-restricted-imports
import { usePanel } from "@/features/chat/store";
import { SearchBox } from "@/features/search";
import { cn } from "@/lib/cn";
import { useConnection } from "@/lib/connection";

import { ErrorBoundary } from "./ErrorBoundary";
import { LanguageSwitch } from "./LanguageSwitch";
import { PlayerBarSlot } from "./PlayerBarSlot";
import { ThemeSwitch } from "./ThemeSwitch";

// The chat (its panel, its rooms, its client) loads once someone is signed in: nothing of it shows
// before.
const ChatToggle = lazy(() => import("@/features/chat").then((m) => ({ default: m.ChatToggle })));
const ChatDock = lazy(() => import("@/features/chat").then((m) => ({ default: m.ChatDock })));

const navClass = ({ isActive }: { isActive: boolean }) =>
  cn(
    "whitespace-nowrap rounded-md px-3 py-1.5 text-sm font-medium hover:bg-zinc-100 dark:hover:bg-zinc-800",
    isActive ? "bg-violet-100 text-violet-900 dark:bg-violet-950 dark:text-violet-100" : "text-zinc-800 dark:text-zinc-200",
  );

function Nav() {
  const { t } = useTranslation();
  const user = useCurrentUser();
  const artist = user && user.role !== "listener";
  return (
    <nav aria-label={t("nav.main")} className="-mx-1 flex items-center gap-1 overflow-x-auto px-1">
      <NavLink to="/" end className={navClass}>
        {t("nav.home")}
      </NavLink>
      {user ? (
        <NavLink to="/playlists" className={navClass}>
          {t("nav.playlists")}
        </NavLink>
      ) : null}
      {artist ? (
        <>
          <NavLink to="/upload" className={navClass}>
            {t("nav.upload")}
          </NavLink>
          <NavLink to="/dashboard" className={navClass}>
            {t("nav.dashboard")}
          </NavLink>
        </>
      ) : null}
    </nav>
  );
}

/**
 * On arriving at another page: back to its top, and the focus to the main area (a screen reader
 * then reads the new page), unless the user is typing in the header (the search box).
 */
function useMoveToNewPage(pathname: string) {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    window.scrollTo?.(0, 0);
    if (document.activeElement?.closest("header")) return;
    document.getElementById("main")?.focus({ preventScroll: true });
  }, [pathname]);
}

export function Layout() {
  const { t } = useTranslation();
  const location = useLocation();
  // Pages wait for the session to be restored, so a private page is not asked for anonymously.
  const restoring = useSession((s) => s.status === "restoring");
  const signedIn = useSession((s) => s.status === "signedIn");
  // Opened without a connection: the offline page in place of the one asked for.
  const stranded = useConnection((s) => s.stranded);
  useSessionBoot();
  useSignedOutRedirect();
  useMoveToNewPage(location.pathname);
  // The room the open chat panel takes on a wide screen, kept out of the pages (as the chat's
  // useChatInset says, without loading the chat for it).
  const chatOpen = usePanel((s) => s.open);
  const chatInset = signedIn && chatOpen && location.pathname !== "/chat" ? "min-[769px]:pr-[25rem]" : "";
  return (
    <div className={cn("flex min-h-full flex-col", chatInset)}>
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-violet-700 px-4 py-2 text-white focus:not-sr-only focus:fixed focus:left-2 focus:top-2"
      >
        {t("app.skip")}
      </a>
      <header className="sticky top-0 z-30 border-b border-zinc-200 bg-white/95 dark:border-zinc-800 dark:bg-zinc-950/95">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-2 gap-y-2 px-3 py-2 sm:gap-x-3 sm:px-4">
          <Link to="/" className="text-xl font-bold tracking-tight text-violet-800 dark:text-violet-300">
            {t("app.name")}
          </Link>
          <div className="order-last w-full sm:order-none sm:w-auto sm:flex-1">
            <SearchBox />
          </div>
          <div className="ml-auto flex items-center gap-1.5 sm:ml-0 sm:gap-2">
            {signedIn ? (
              <Suspense fallback={<span aria-hidden="true" className="inline-block h-9 w-9" />}>
                <ChatToggle />
              </Suspense>
            ) : null}
            <ThemeSwitch />
            <LanguageSwitch />
            <UserMenu />
          </div>
        </div>
        <div className="mx-auto max-w-6xl px-3 pb-2 sm:px-4">
          <Nav />
        </div>
        <OfflineBanner />
      </header>
      <main id="main" tabIndex={-1} className="mx-auto w-full max-w-6xl flex-1 pb-28 focus:outline-none">
        <ErrorBoundary resetKey={location.pathname}>
          <Suspense fallback={<Loading />}>
            {stranded ? <OfflinePage /> : restoring ? <SessionRestoring /> : <Outlet />}
          </Suspense>
        </ErrorBoundary>
      </main>
      {signedIn ? (
        <Suspense fallback={null}>
          <ChatDock />
        </Suspense>
      ) : null}
      <PlayerBarSlot />
      <Toaster />
    </div>
  );
}
