import { useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/Button";
import { cn } from "@/lib/cn";

import { MAX_BODY_CHARS, mentionQuery } from "../model";

export interface ComposerProps {
  /** The room's name, for the field's label. */
  room: string;
  /** Handles `@` completes (the room's members). */
  handles: string[];
  /** Send (or save the edit of) a body within the limit. */
  onSubmit: (body: string) => void;
  onTyping?: () => void;
  /** Editing a message: its body fills the field; Escape or Cancel stops. */
  editing?: { body: string; onCancel: () => void } | null;
  /** Replying: who to, shown above the field; Escape or Cancel stops. */
  replyTo?: { handle: string; body: string; onCancel: () => void } | null;
  /** Why the user may not post here now (muted, banned), shown instead of the field. */
  blocked?: string | null;
}

/** Characters as the gateway counts them (code points, not UTF-16 units). */
export const charCount = (text: string) => [...text].length;

/**
 * The message field: Enter sends, Shift+Enter starts a new line; it counts characters against
 * the gateway's 4,000 and will not send more; `@` offers the room's members.
 */
export function Composer({ room, handles, onSubmit, onTyping, editing, replyTo, blocked }: ComposerProps) {
  const { t, i18n } = useTranslation("chat");
  const [text, setText] = useState("");
  const [caret, setCaret] = useState(0);
  const [choice, setChoice] = useState(0);
  const [dismissed, setDismissed] = useState<number | null>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  const id = useId();

  useEffect(() => {
    if (editing) {
      setText(editing.body);
      field.current?.focus();
    }
  }, [editing]);
  useEffect(() => {
    if (replyTo) field.current?.focus();
  }, [replyTo]);

  const count = charCount(text);
  const over = count - MAX_BODY_CHARS;
  const empty = text.trim().length === 0;
  const query = mentionQuery(text, caret);
  const matches =
    query && dismissed !== query.start
      ? handles.filter((h) => h.toLowerCase().startsWith(query.query.toLowerCase())).slice(0, 6)
      : [];
  const open = matches.length > 0;
  const active = Math.min(choice, matches.length - 1);

  const submit = () => {
    if (empty || over > 0) return;
    onSubmit(text);
    setText("");
    setCaret(0);
  };

  const complete = (handle: string) => {
    if (!query) return;
    const next = `${text.slice(0, query.start)}@${handle} ${text.slice(caret)}`;
    const at = query.start + handle.length + 2;
    setText(next);
    setCaret(at);
    setChoice(0);
    requestAnimationFrame(() => field.current?.setSelectionRange(at, at));
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.nativeEvent.isComposing) return;
    if (open) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        setChoice((active + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length);
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        complete(matches[active]!);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        setDismissed(query!.start);
        return;
      }
    }
    if (event.key === "Escape" && (editing || replyTo)) {
      event.preventDefault();
      event.stopPropagation();
      (editing ?? replyTo)!.onCancel();
      if (editing) setText("");
      return;
    }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      submit();
    }
  };

  if (blocked) {
    return (
      <p role="status" className="border-t border-zinc-200 px-3 py-3 text-sm text-zinc-700 dark:border-zinc-800 dark:text-zinc-300">
        {blocked}
      </p>
    );
  }

  const label = editing ? t("composer.editLabel") : t("composer.label", { room });
  return (
    <form
      className="border-t border-zinc-200 px-3 py-2 dark:border-zinc-800"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      {replyTo ? (
        <div className="mb-1 flex items-center gap-2 text-xs text-zinc-700 dark:text-zinc-300">
          <span className="min-w-0 flex-1 truncate">{t("composer.replyingTo", { handle: replyTo.handle, body: replyTo.body })}</span>
          <Button variant="ghost" size="sm" className="h-6 px-2 text-xs" onClick={replyTo.onCancel}>
            {t("composer.cancelReply")}
          </Button>
        </div>
      ) : null}
      {editing ? (
        <div className="mb-1 flex items-center gap-2 text-xs text-zinc-700 dark:text-zinc-300">
          <span className="flex-1">{t("composer.editing")}</span>
          <Button
            variant="ghost"
            size="sm"
            className="h-6 px-2 text-xs"
            onClick={() => {
              editing.onCancel();
              setText("");
            }}
          >
            {t("composer.cancelEdit")}
          </Button>
        </div>
      ) : null}
      <div className="relative">
        <label htmlFor={`${id}-field`} className="sr-only">
          {label}
        </label>
        <textarea
          ref={field}
          id={`${id}-field`}
          rows={2}
          value={text}
          placeholder={label}
          aria-describedby={`${id}-count ${id}-help`}
          aria-autocomplete="list"
          aria-controls={open ? `${id}-handles` : undefined}
          aria-activedescendant={open ? `${id}-handle-${active}` : undefined}
          aria-invalid={over > 0 || undefined}
          onChange={(event) => {
            setText(event.target.value);
            setCaret(event.target.selectionStart);
            setChoice(0);
            if (event.target.value) onTyping?.();
          }}
          onSelect={(event) => setCaret(event.currentTarget.selectionStart)}
          onKeyDown={onKeyDown}
          className="block max-h-40 min-h-12 w-full resize-y rounded-md border border-zinc-400 bg-white px-3 py-2 text-sm text-zinc-900 focus:outline-2 focus:outline-violet-600 dark:border-zinc-600 dark:bg-zinc-950 dark:text-zinc-100"
        />
        {open ? (
          <ul
            id={`${id}-handles`}
            role="listbox"
            aria-label={t("composer.handles")}
            className="absolute bottom-full left-0 z-10 mb-1 max-h-48 w-56 overflow-y-auto rounded-md border border-zinc-200 bg-white p-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
          >
            {matches.map((handle, i) => (
              <li
                key={handle}
                id={`${id}-handle-${i}`}
                role="option"
                aria-selected={i === active}
                className={cn("cursor-pointer rounded px-2 py-1 text-sm", i === active && "bg-violet-100 text-violet-950 dark:bg-violet-900 dark:text-white")}
                onMouseDown={(event) => {
                  event.preventDefault();
                  complete(handle);
                }}
              >
                @{handle}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      <div className="mt-1 flex items-center gap-2">
        <p id={`${id}-count`} className={cn("text-xs", over > 0 ? "font-semibold text-red-700 dark:text-red-400" : "text-zinc-600 dark:text-zinc-400")}>
          {over > 0
            ? t("composer.tooLong", { count: over })
            : t("composer.count", { n: count.toLocaleString(i18n.language), max: MAX_BODY_CHARS.toLocaleString(i18n.language) })}
        </p>
        <p id={`${id}-help`} className="sr-only">
          {t("composer.help")}
        </p>
        <Button type="submit" size="sm" className="ml-auto" disabled={empty || over > 0}>
          {editing ? t("composer.save") : t("composer.send")}
        </Button>
      </div>
    </form>
  );
}
