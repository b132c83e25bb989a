import { act, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { useSession } from "@/features/auth";
import { renderPage } from "@/test/render";

import { addRoom, applyFrame, emptyChat } from "../model";
import { useChat, usePanel } from "../store";
import { ChatDock, ChatToggle } from "./ChatDock";

const ROOM = { id: "r1", kind: "public" as const, name: "Night buses", topic: null, track_id: null };

beforeEach(() => {
  useSession.setState({ status: "signedIn", user: { id: "u1", handle: "lin", email: null, display_name: null, role: "listener" } });
  usePanel.setState({ open: false });
  let state = addRoom({ ...emptyChat(), me: { id: "u1", handle: "lin" } }, ROOM);
  const message = { room_id: "r1", cid: null, author: { id: "u2", handle: "ada" }, track_ms: null, reply_to: null, at: "2026-01-01T00:00:00Z" };
  state = applyFrame(state, { type: "message", ...message, id: "m1", body: "anyone up?", mentions: [] });
  state = applyFrame(state, { type: "message", ...message, id: "m2", body: "@lin which stop?", mentions: ["u1"] });
  // A track's room (its comments): counted on its page, not here.
  state = addRoom(state, { id: "r9", kind: "track", name: "Night Bus", topic: null, track_id: "t1" });
  state = applyFrame(state, { type: "message", ...message, room_id: "r9", id: "m3", body: "@lin at 0:12!", mentions: ["u1"] });
  useChat.setState(state, true);
});
afterEach(() => useSession.setState({ status: "signedOut", user: null }));

test("the header's button says what is unread, opens the panel and Escape closes it", async () => {
  const user = userEvent.setup();
  renderPage({ "/": (<><ChatToggle /><ChatDock /></>) }, "/");
  const toggle = screen.getByRole("button", { name: "Chat, 2 unread, 1 mention" });
  expect(toggle).toHaveAttribute("aria-expanded", "false");
  // On a narrow screen the same counts lead to the chat's own page.
  expect(screen.getByRole("link", { name: "Chat, 2 unread, 1 mention" })).toHaveAttribute("href", "/chat");
  expect(screen.queryByRole("complementary")).not.toBeInTheDocument();

  await user.click(toggle);
  const panel = screen.getByRole("complementary", { name: "Chat" });
  expect(panel).toHaveFocus();
  expect(screen.queryByRole("button", { name: /^Night Bus,/ })).not.toBeInTheDocument();
  await user.click(screen.getByRole("button", { name: "Night buses, 2 unread, 1 mention" }));
  // The room on screen is read: the counts go; the focus is in its message field.
  expect(screen.getByRole("textbox", { name: "Message Night buses" })).toHaveFocus();
  expect(screen.getByRole("button", { name: "Chat" })).toBeInTheDocument();
  expect(screen.getByRole("log", { name: "Messages in Night buses" })).toBeInTheDocument();

  await user.keyboard("{Escape}");
  expect(screen.queryByRole("complementary")).not.toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Chat" })).toHaveFocus();
  act(() => usePanel.setState({ open: false }));
});

test("signed out, there is no chat button", () => {
  useSession.setState({ status: "signedOut", user: null });
  renderPage({ "/": (<><ChatToggle /><ChatDock /></>) }, "/");
  expect(screen.queryByRole("button", { name: /^Chat/ })).not.toBeInTheDocument();
  expect(screen.queryByRole("link", { name: /^Chat/ })).not.toBeInTheDocument();
});
