export { authKeys, type Me, type Role } from "./api/auth";
export { LoginPage, PasswordPage, RegisterPage } from "./components/forms";
export { RequireAuth, UserMenu } from "./components/UserMenu";
export { useSessionBoot, useSignedOutRedirect } from "./hooks/useSessionBoot";
export { useCurrentUser, useSession } from "./store";
