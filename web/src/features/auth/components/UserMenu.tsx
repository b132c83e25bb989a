import { useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link, Navigate, useLocation, useNavigate } from "react-router-dom";

import { Button, buttonClass } from "@/components/Button";
import { Loading } from "@/components/Feedback";
import { Menu, MenuContent, MenuItem, MenuLabel, MenuSeparator, MenuTrigger } from "@/components/Menu";

import { logout } from "../api/auth";
import { useSession } from "../store";

/** Log in / Sign up, or the signed-in user's menu. */
export function UserMenu() {
  const { t } = useTranslation("auth");
  const { status, user, signedOut } = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  if (status === "restoring") return <span className="w-20" aria-hidden="true" />;
  if (!user) {
    return (
      <div className="flex items-center gap-1">
        <Link className={buttonClass("ghost", "compact")} to="/login">
          {t("login.title")}
        </Link>
        <Link className={buttonClass("primary", "compact")} to="/register">
          {t("register.title")}
        </Link>
      </div>
    );
  }
  const onLogout = async () => {
    try {
      await logout();
    } catch {
      // The session may already be gone on the server; signing out here is what matters.
    }
    signedOut();
    queryClient.removeQueries();
    navigate("/");
  };
  return (
    <Menu>
      <MenuTrigger asChild>
        <Button variant="ghost" size="sm">
          <span aria-hidden="true" className="flex h-7 w-7 items-center justify-center rounded-full bg-violet-700 text-sm font-semibold uppercase text-white">
            {(user.display_name || user.handle).slice(0, 1)}
          </span>
          <span className="sr-only max-w-32 truncate sm:not-sr-only">{user.display_name || user.handle}</span>
          <span className="sr-only">{t("menu.label")}</span>
        </Button>
      </MenuTrigger>
      <MenuContent>
        <MenuLabel>@{user.handle}</MenuLabel>
        <MenuItem onSelect={() => navigate(`/u/${encodeURIComponent(user.handle)}`)}>{t("menu.profile")}</MenuItem>
        <MenuItem onSelect={() => navigate("/playlists")}>{t("menu.playlists")}</MenuItem>
        <MenuItem onSelect={() => navigate("/likes")}>{t("menu.likes")}</MenuItem>
        <MenuItem onSelect={() => navigate("/history")}>{t("menu.history")}</MenuItem>
        <MenuSeparator />
        <MenuItem onSelect={() => navigate("/account/password")}>{t("change.title")}</MenuItem>
        <MenuItem onSelect={() => void onLogout()}>{t("menu.logout")}</MenuItem>
      </MenuContent>
    </Menu>
  );
}

/** Show the page only to a signed-in user (optionally of a role); others go to the login page. */
export function RequireAuth({ children, role }: { children: React.ReactNode; role?: "artist" }) {
  const { t } = useTranslation("auth");
  const { status, user } = useSession();
  const location = useLocation();
  if (status === "restoring") return <Loading />;
  if (!user) {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  if (role === "artist" && user.role === "listener") {
    return (
      <section className="p-4 sm:p-8">
        <h1 className="text-2xl font-semibold">{t("artistsOnly.title")}</h1>
        <p className="mt-2">{t("artistsOnly.body")}</p>
      </section>
    );
  }
  return <>{children}</>;
}
