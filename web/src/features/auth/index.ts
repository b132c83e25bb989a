import { lazy } from "react";

export { authKeys, type Me, type Role } from "./api/auth";
export { SessionRestoring } from "./components/SessionRestoring";
export { RequireAuth, UserMenu } from "./components/UserMenu";
export { useSessionBoot, useSignedOutRedirect } from "./hooks/useSessionBoot";
export { useCurrentUser, useSession } from "./store";

export const LoginPage = lazy(() => import("./components/forms").then((m) => ({ default: m.LoginPage })));
export const RegisterPage = lazy(() => import("./components/forms").then((m) => ({ default: m.RegisterPage })));
export const PasswordPage = lazy(() => import("./components/forms").then((m) => ({ default: m.PasswordPage })));
