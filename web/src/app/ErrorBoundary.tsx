import { Component, type ErrorInfo, type ReactNode } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/Button";

function Fallback({ error, onRetry }: { error: Error; onRetry: () => void }) {
  const { t } = useTranslation();
  return (
    <section role="alert" className="mx-auto max-w-xl p-4 sm:p-8">
      <h1 className="text-2xl font-semibold">{t("app.error")}</h1>
      <p className="mt-2 text-zinc-700 dark:text-zinc-300">{t("app.errorBody")}</p>
      <p className="mt-2 break-words font-mono text-sm text-zinc-700 dark:text-zinc-300">{error.message}</p>
      <div className="mt-4 flex gap-2">
        <Button onClick={onRetry}>{t("app.retry")}</Button>
        <Button variant="secondary" onClick={() => window.location.assign("/")}>
          {t("app.home")}
        </Button>
      </div>
    </section>
  );
}

interface State {
  error: Error | null;
}

/** A page that throws shows a readable message instead of a blank screen. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidUpdate(previous: { resetKey?: string }) {
    if (previous.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error(error, info.componentStack);
  }

  render() {
    if (this.state.error) return <Fallback error={this.state.error} onRetry={() => this.setState({ error: null })} />;
    return this.props.children;
  }
}
