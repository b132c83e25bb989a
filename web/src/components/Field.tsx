import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from "react";

import { cn } from "@/lib/cn";

export const inputClass =
  "w-full rounded-md border border-zinc-400 bg-white px-3 py-2 text-zinc-900 placeholder:text-zinc-600 dark:border-zinc-500 dark:bg-zinc-900 dark:text-zinc-100 dark:placeholder:text-zinc-400 aria-invalid:border-red-700 dark:aria-invalid:border-red-400";

interface Common {
  label: string;
  /** The API's message for this field, shown under it and announced with it. */
  error?: string | undefined;
  hint?: ReactNode;
}

function useFieldIds(error?: string, hint?: ReactNode) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(" ") || undefined;
  return { id, errorId, hintId, describedBy };
}

function Extra({ error, hint, errorId, hintId }: { error?: string | undefined; hint?: ReactNode; errorId: string; hintId: string }) {
  return (
    <>
      {hint ? (
        <p id={hintId} className="text-sm text-zinc-600 dark:text-zinc-400">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="text-sm font-medium text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
    </>
  );
}

export function TextField({ label, error, hint, className, ...props }: Common & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <FieldShell label={label} error={error} hint={hint} className={className} htmlFor={props.id}>
      {({ id, describedBy }) => <input id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy} className={inputClass} {...props} />}
    </FieldShell>
  );
}

/** The label, the control (given the ids it is to carry) and the hint and error under it. */
function FieldShell({
  label,
  error,
  hint,
  className,
  htmlFor,
  children,
}: Common & {
  className?: string | undefined;
  htmlFor?: string | undefined;
  children: (ids: { id: string; describedBy: string | undefined }) => ReactNode;
}) {
  const { id, errorId, hintId, describedBy } = useFieldIds(error, hint);
  return (
    <div className={cn("flex flex-col gap-1", className)}>
      <label htmlFor={htmlFor ?? id} className="text-sm font-medium">
        {label}
      </label>
      {children({ id, describedBy })}
      <Extra error={error} hint={hint} errorId={errorId} hintId={hintId} />
    </div>
  );
}

export function TextAreaField({ label, error, hint, className, ...props }: Common & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return (
    <FieldShell label={label} error={error} hint={hint} className={className}>
      {({ id, describedBy }) => (
        <textarea id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy} className={inputClass} rows={3} {...props} />
      )}
    </FieldShell>
  );
}

export function SelectField({
  label,
  error,
  hint,
  className,
  children,
  ...props
}: Common & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <FieldShell label={label} error={error} hint={hint} className={className}>
      {({ id, describedBy }) => (
        <select id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy} className={inputClass} {...props}>
          {children}
        </select>
      )}
    </FieldShell>
  );
}
