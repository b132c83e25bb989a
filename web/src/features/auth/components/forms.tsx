import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router-dom";

import { Button } from "@/components/Button";
import { ErrorMessage } from "@/components/Feedback";
import { TextField } from "@/components/Field";
import { ApiError } from "@/lib/api";
import { useTitle } from "@/lib/useTitle";

import { changePassword, login, register, type Me, type RegisterInput } from "../api/auth";
import { useSession } from "../store";

/** Where to go after signing in: only a path of this app, never another site. */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/";
}

function fieldErrors(error: unknown): Record<string, string> {
  return error instanceof ApiError ? error.fields : {};
}

/** The form's error line, unless every message is already beside its field. */
function FormError({ error }: { error: unknown }) {
  if (!error) return null;
  if (error instanceof ApiError && Object.keys(error.fields).length > 0) return null;
  return <ErrorMessage error={error} />;
}

const pageClass = "mx-auto flex w-full max-w-md flex-col gap-4 p-4 sm:p-8";

/** A signed-in user has nothing to do on the login or sign-up page: go on to `?next=` or home. */
function AlreadySignedIn() {
  const [params] = useSearchParams();
  return <Navigate to={safeNext(params.get("next"))} replace />;
}

/** Signing in from a page: a fresh cache, the session, then on to `to`; `alreadySignedIn` is for one who came signed in. */
function useSignIn() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const signedIn = useSession((s) => s.signedIn);
  const status = useSession((s) => s.status);
  const signingIn = useRef(false);
  const enter = (user: Me, to: string) => {
    queryClient.removeQueries();
    signingIn.current = true; // this page goes on where it means to, below
    signedIn(user);
    navigate(to, { replace: true });
  };
  return { enter, alreadySignedIn: status === "signedIn" && !signingIn.current };
}

/** The form's error line and its submit button, off while the request is on its way. */
function SubmitRow({ error, pending, label }: { error: unknown; pending: boolean; label: string }) {
  return (
    <>
      <FormError error={error} />
      <Button type="submit" disabled={pending}>
        {label}
      </Button>
    </>
  );
}

/** "No account yet? Sign up" and the like, under the form. */
/** A password field: a new one says the rule and asks the password manager for a fresh one. */
function PasswordField({ label, name, kind, value, onChange, error, hint }: {
  label: string;
  name: string;
  kind: "current" | "new";
  value: string;
  onChange: (e: React.ChangeEvent<HTMLInputElement>) => void;
  error?: string;
  hint?: string;
}) {
  return (
    <TextField
      label={label}
      name={name}
      type="password"
      autoComplete={kind === "new" ? "new-password" : "current-password"}
      required
      minLength={kind === "new" ? 10 : undefined}
      value={value}
      onChange={onChange}
      error={error}
      hint={hint}
    />
  );
}

function OtherPage({ prompt, to, label }: { prompt: string; to: string; label: string }) {
  return (
    <p>
      {prompt}{" "}
      <Link className="text-violet-700 underline dark:text-violet-300" to={to}>
        {label}
      </Link>
    </p>
  );
}

export function LoginPage() {
  const { t } = useTranslation("auth");
  const [params] = useSearchParams();
  const { enter, alreadySignedIn } = useSignIn();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const reason = params.get("reason");
  useTitle(t("login.title"));
  const mutation = useMutation({
    mutationFn: () => login(name.trim(), password),
    onSuccess: (user) => enter(user, safeNext(params.get("next"))),
  });
  const errors = fieldErrors(mutation.error);
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    mutation.mutate();
  };
  if (alreadySignedIn) return <AlreadySignedIn />;
  return (
    <section className={pageClass}>
      <h1 className="text-2xl font-semibold">{t("login.title")}</h1>
      {reason ? (
        <p role="status" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
          {t(`reason.${reason}`, { defaultValue: t("reason.signed_out") })}
        </p>
      ) : null}
      <form className="flex flex-col gap-4" onSubmit={onSubmit} noValidate>
        <TextField label={t("login.login")} name="login" autoComplete="username" required value={name} onChange={(e) => setName(e.target.value)} error={errors.login} />
        <PasswordField label={t("password")} name="password" kind="current" value={password} onChange={(e) => setPassword(e.target.value)} error={errors.password} />
        <SubmitRow error={mutation.error} pending={mutation.isPending} label={t("login.submit")} />
      </form>
      <OtherPage prompt={t("login.noAccount")} to="/register" label={t("register.title")} />
    </section>
  );
}

export function RegisterPage() {
  const { t } = useTranslation("auth");
  const { enter, alreadySignedIn } = useSignIn();
  useTitle(t("register.title"));
  const [form, setForm] = useState<RegisterInput>({ handle: "", email: "", password: "", display_name: "", role: "listener" });
  const set = (name: keyof RegisterInput) => (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [name]: e.target.value });
  const mutation = useMutation({
    mutationFn: () => register({ ...form, handle: form.handle.trim(), email: form.email.trim() }),
    onSuccess: (user) => enter(user, user.role === "artist" ? "/dashboard" : "/"),
  });
  const errors = fieldErrors(mutation.error);
  if (alreadySignedIn) return <AlreadySignedIn />;
  return (
    <section className={pageClass}>
      <h1 className="text-2xl font-semibold">{t("register.title")}</h1>
      <form
        className="flex flex-col gap-4"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          mutation.mutate();
        }}
      >
        <fieldset className="flex flex-col gap-2">
          <legend className="mb-1 text-sm font-medium">{t("register.role")}</legend>
          {(["listener", "artist"] as const).map((role) => (
            <label key={role} className="flex items-center gap-2">
              <input type="radio" name="role" value={role} checked={form.role === role} onChange={() => setForm({ ...form, role })} />
              {t(`register.${role}`)}
            </label>
          ))}
          {errors.role ? <p className="text-sm font-medium text-red-700 dark:text-red-400">{errors.role}</p> : null}
        </fieldset>
        <TextField label={t("register.handle")} name="handle" autoComplete="username" required value={form.handle} onChange={set("handle")} error={errors.handle} hint={t("register.handleHint")} />
        <TextField label={t("register.displayName")} name="display_name" autoComplete="name" value={form.display_name} onChange={set("display_name")} error={errors.display_name} />
        <TextField label={t("register.email")} name="email" type="email" autoComplete="email" required value={form.email} onChange={set("email")} error={errors.email} />
        <PasswordField label={t("password")} name="password" kind="new" value={form.password} onChange={set("password")} error={errors.password} hint={t("passwordHint")} />
        <SubmitRow error={mutation.error} pending={mutation.isPending} label={t("register.submit")} />
      </form>
      <OtherPage prompt={t("register.haveAccount")} to="/login" label={t("login.title")} />
    </section>
  );
}

export function PasswordPage() {
  const { t } = useTranslation("auth");
  useTitle(t("change.title"));
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const mutation = useMutation({
    mutationFn: () => changePassword(current, next),
    onSuccess: () => {
      setCurrent("");
      setNext("");
    },
  });
  const errors = fieldErrors(mutation.error);
  return (
    <section className={pageClass}>
      <h1 className="text-2xl font-semibold">{t("change.title")}</h1>
      <form
        className="flex flex-col gap-4"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          mutation.mutate();
        }}
      >
        <PasswordField label={t("change.current")} name="current_password" kind="current" value={current} onChange={(e) => setCurrent(e.target.value)} error={errors.current_password} />
        <PasswordField label={t("change.new")} name="new_password" kind="new" value={next} onChange={(e) => setNext(e.target.value)} error={errors.new_password} hint={t("passwordHint")} />
        <FormError error={mutation.error} />
        {mutation.isSuccess ? (
          <p role="status" className="text-green-800 dark:text-green-300">
            {t("change.done")}
          </p>
        ) : null}
        <Button type="submit" disabled={mutation.isPending}>
          {t("change.submit")}
        </Button>
      </form>
    </section>
  );
}
