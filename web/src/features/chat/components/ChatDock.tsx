import { useCallback, useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useNavigate, useSearchParams } from "react-router-dom";

import { useSession } from "@/features/auth";
import { toast } from "@/components/Toast";
import { cn } from "@/lib/cn";
import { useTitle } from "@/lib/useTitle";

import { errorText } from "../errors";

import * as chat from "../service";
import { usePanel, useTotals } from "../store";
import { Badge, ChatIcon } from "./bits";
import { ChatPanel } from "./ChatPanel";

const toggleClass =
  "relative inline-flex h-9 items-center gap-1.5 rounded-md px-2 text-sm font-medium text-zinc-800 hover:bg-zinc-100 dark:text-zinc-200 dark:hover:bg-zinc-800";

function useLabel(): string {
  const { t } = useTranslation("chat");
  const { unread, mentions } = useTotals();
  const parts = [t("panel.title")];
  if (unread) parts.push(t("list.unread", { count: unread }));
  if (mentions) parts.push(t("list.mentions", { count: mentions }));
  return parts.join(", ");
}

/**
 * The header's chat button: it opens the side panel on a wide screen, and goes to the chat's
 * own page on a narrow one (768 px and less). It shows the unread and mention counts.
 */
export function ChatToggle() {
  const signedIn = useSession((s) => s.status === "signedIn");
  const { open, setOpen } = usePanel();
  const { unread, mentions } = useTotals();
  const label = useLabel();
  const { pathname } = useLocation();
  if (!signedIn) return null;
  const content = (
    <>
      <ChatIcon />
      <Badge count={mentions} mention />
      {!mentions ? <Badge count={unread} /> : null}
    </>
  );
  return (
    <>
      <button
        type="button"
        className={cn(toggleClass, "max-[768px]:hidden", pathname === "/chat" && "hidden")}
        aria-label={label}
        aria-expanded={open}
        aria-controls="chat-panel"
        onClick={() => setOpen(!open)}
      >
        {content}
      </button>
      <Link to="/chat" className={cn(toggleClass, "min-[769px]:hidden")} aria-label={label}>
        {content}
      </Link>
    </>
  );
}

function useShown(): boolean {
  const signedIn = useSession((s) => s.status === "signedIn");
  const open = usePanel((s) => s.open);
  const { pathname } = useLocation();
  return signedIn && open && pathname !== "/chat";
}

/** The room the open panel takes on a wide screen: the layout keeps its pages out of it. */
export function useChatInset(): string {
  return useShown() ? "min-[769px]:pr-[25rem]" : "";
}

/** The side panel beside every page on a wide screen, while open. */
export function ChatDock() {
  const { t } = useTranslation("chat");
  const setOpen = usePanel((s) => s.setOpen);
  const ref = useRef<HTMLElement>(null);
  const shown = useShown();
  // Opened from its button: the focus goes into the panel (and back to the button on Escape).
  useEffect(() => {
    if (shown && document.activeElement?.getAttribute("aria-controls") === "chat-panel") ref.current?.focus();
  }, [shown]);
  if (!shown) return null;
  return (
    <aside
      ref={ref}
      id="chat-panel"
      tabIndex={-1}
      aria-label={t("panel.title")}
      onKeyDown={(event) => {
        // Not an Escape meant for a menu or a dialog of the panel (they are portalled outside it).
        if (event.key !== "Escape" || event.defaultPrevented || !event.currentTarget.contains(event.target as Node)) return;
        setOpen(false);
        document.querySelector<HTMLElement>('[aria-controls="chat-panel"]')?.focus();
      }}
      className="fixed bottom-24 right-2 top-28 z-20 flex focus:outline-none w-[24rem] max-w-[calc(100vw-1rem)] flex-col overflow-hidden rounded-lg border border-zinc-200 bg-white shadow-xl max-[768px]:hidden dark:border-zinc-800 dark:bg-zinc-900"
    >
      <ChatPanel onClose={() => setOpen(false)} />
    </aside>
  );
}

/** The chat on a page of its own (narrow screens; and room links: /chat?room=ID). */
export function ChatPage() {
  const { t } = useTranslation("chat");
  const [params] = useSearchParams();
  const room = params.get("room");
  const showError = useErrorToast();
  useTitle(t("panel.title"));
  useEffect(() => {
    if (!room) return;
    chat.joinRoom({ room_id: room }).then(
      () => chat.openRoom(room),
      (error: unknown) => {
        chat.openRoom(null);
        showError(error);
      },
    );
  }, [room, showError]);
  return (
    <div className="mx-auto flex h-[calc(100vh-12rem)] max-w-3xl flex-col px-2 py-2">
      <ChatPanel headingLevel={1} />
    </div>
  );
}

function useErrorToast() {
  const { t, i18n } = useTranslation("chat");
  return useCallback((error: unknown) => toast(errorText(t, error, i18n.language)), [t, i18n.language]);
}

/** "Message": opens the direct room with a user (from their page), in the panel or the chat page. */
export function MessageButton({ userId, handle, className }: { userId: string; handle: string; className?: string }) {
  const { t } = useTranslation("chat");
  const navigate = useNavigate();
  const setOpen = usePanel((s) => s.setOpen);
  const showError = useErrorToast();
  return (
    <button
      type="button"
      className={className}
      aria-label={t("member.messageTo", { handle })}
      onClick={() =>
        chat.openDirect(userId).then((room) => {
          chat.openRoom(room.id);
          if (window.matchMedia?.("(max-width: 768px)").matches) navigate("/chat");
          else setOpen(true);
        }, showError)
      }
    >
      {t("member.message")}
    </button>
  );
}
