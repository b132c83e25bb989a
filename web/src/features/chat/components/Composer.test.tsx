import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { useSocket } from "@/features/socket";
import { renderPage } from "@/test/render";

import { addRoom, emptyChat, receiveHistory, setMembers } from "../model";
import { useChat } from "../store";
import { ChatPanel } from "./ChatPanel";
import { Composer } from "./Composer";

// jsdom lays nothing out: give the message list's scroller the height it has in a browser,
// and each message the height of two lines (jsdom measures every element at 0 px).
const clientHeight = Object.getOwnPropertyDescriptor(Element.prototype, "clientHeight")!;
const offsetHeight = Object.getOwnPropertyDescriptor(HTMLElement.prototype, "offsetHeight")!;
beforeAll(() => {
  Object.defineProperty(Element.prototype, "clientHeight", { configurable: true, get: () => 480 });
  Object.defineProperty(HTMLElement.prototype, "offsetHeight", {
    configurable: true,
    get(this: HTMLElement) {
      return this.hasAttribute("data-index") ? 56 : 480;
    },
  });
});
afterAll(() => {
  Object.defineProperty(Element.prototype, "clientHeight", clientHeight);
  Object.defineProperty(HTMLElement.prototype, "offsetHeight", offsetHeight);
});

function composer(props: Partial<Parameters<typeof Composer>[0]> = {}) {
  const onSubmit = vi.fn();
  const onTyping = vi.fn();
  render(<Composer room="Night buses" handles={["ada", "adam", "bo"]} onSubmit={onSubmit} onTyping={onTyping} {...props} />);
  return { onSubmit, onTyping, field: screen.queryByRole("textbox", { name: "Message Night buses" })! };
}

test("Enter sends the message and empties the field; Shift+Enter starts a new line", async () => {
  const user = userEvent.setup();
  const { onSubmit, onTyping, field } = composer();
  await user.type(field, "first line{Shift>}{Enter}{/Shift}second");
  expect(field).toHaveValue("first line\nsecond");
  expect(onSubmit).not.toHaveBeenCalled();
  expect(onTyping).toHaveBeenCalled();
  await user.keyboard("{Enter}");
  expect(onSubmit).toHaveBeenCalledExactlyOnceWith("first line\nsecond");
  expect(field).toHaveValue("");
  // Nothing but spaces is not a message.
  await user.type(field, "   {Enter}");
  expect(onSubmit).toHaveBeenCalledTimes(1);
  expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
});

test("the field counts characters against the 4,000 limit and will not send more", async () => {
  const user = userEvent.setup();
  const { onSubmit, field } = composer();
  await user.click(field);
  await user.paste("🎵".repeat(3999)); // one character each, though two UTF-16 units
  expect(screen.getByText("3,999 / 4,000")).toBeInTheDocument();
  await user.paste("ab");
  expect(screen.getByText("1 character too many (4,000 at most)")).toBeInTheDocument();
  expect(field).toHaveAttribute("aria-invalid", "true");
  expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
  await user.keyboard("{Enter}");
  expect(onSubmit).not.toHaveBeenCalled();
  await user.keyboard("{Backspace}");
  expect(screen.getByText("4,000 / 4,000")).toBeInTheDocument();
  await user.keyboard("{Enter}");
  expect(onSubmit).toHaveBeenCalledTimes(1);
  expect([...(onSubmit.mock.calls[0]![0] as string)]).toHaveLength(4000);
});

test("@ offers the room's people; arrows choose, Enter completes, Escape closes", async () => {
  const user = userEvent.setup();
  const { onSubmit, field } = composer();
  await user.type(field, "hi @ad");
  const options = screen.getAllByRole("option");
  expect(options.map((o) => o.textContent)).toEqual(["@ada", "@adam"]);
  expect(options[0]).toHaveAttribute("aria-selected", "true");
  await user.keyboard("{ArrowDown}");
  expect(field).toHaveAttribute("aria-activedescendant", options[1]!.id);
  await user.keyboard("{Enter}");
  expect(field).toHaveValue("hi @adam ");
  expect(screen.queryByRole("listbox")).not.toBeInTheDocument();
  expect(onSubmit).not.toHaveBeenCalled();
  await user.type(field, "and @b");
  expect(screen.getByRole("option", { name: "@bo" })).toBeInTheDocument();
  await user.keyboard("{Escape}");
  expect(screen.queryByRole("listbox")).not.toBeInTheDocument();
  await user.keyboard("{Enter}");
  expect(onSubmit).toHaveBeenCalledWith("hi @adam and @b");
});

test("a muted user reads why and until when instead of a field", () => {
  composer({ blocked: "A moderator muted you in this room until 1 Jan 2030: you can read but not write." });
  expect(screen.queryByRole("textbox")).not.toBeInTheDocument();
  expect(screen.getByRole("status")).toHaveTextContent("muted you in this room until 1 Jan 2030");
});

test("editing fills the field with the message; Escape cancels", async () => {
  const user = userEvent.setup();
  const onCancel = vi.fn();
  const { onSubmit } = composer({ editing: { body: "the 42 leaves at midnight", onCancel } });
  const field = screen.getByRole("textbox", { name: "Edit your message" });
  expect(field).toHaveValue("the 42 leaves at midnight");
  await user.type(field, "!{Enter}");
  expect(onSubmit).toHaveBeenCalledWith("the 42 leaves at midnight!");
  await user.keyboard("{Escape}");
  expect(onCancel).toHaveBeenCalled();
});

function roomWith(lines: number, older: string | null) {
  const room = { id: "r1", kind: "public" as const, name: "Night buses", topic: null, track_id: null };
  let state = addRoom({ ...emptyChat(), me: { id: "u1", handle: "lin" } }, room);
  state = setMembers(state, "r1", [{ id: "u1", handle: "lin", role: "member", state: "online" }]);
  const messages = Array.from({ length: lines }, (_, i) => ({
    room_id: "r1", id: `m${String(i).padStart(6, "0")}`, cid: null, author: { id: "u2", handle: "ada" }, body: `message ${i}`,
    track_ms: null, reply_to: null, mentions: [], at: "2026-01-01T00:00:00Z",
  }));
  state = receiveHistory(state, "r1", messages.reverse(), older, true);
  useChat.setState({ ...state, active: "r1" }, true);
}

test("a long history renders only a window of messages", () => {
  roomWith(2000, "m000000");
  useSocket.setState({ state: "open", attempt: 0, retryAt: null, closeCode: null });
  renderPage({ "/": <ChatPanel /> }, "/");
  const articles = within(screen.getByRole("log", { name: "Messages in Night buses" })).getAllByRole("article");
  expect(articles.length).toBeGreaterThan(3);
  expect(articles.length).toBeLessThan(60);
  act(() => useSocket.setState({ state: "closed", attempt: 0, retryAt: null, closeCode: null }));
});

test("a message sent while the socket is down shows as pending, and the panel says so", async () => {
  const user = userEvent.setup();
  roomWith(0, null);
  useSocket.setState({ state: "reconnecting", attempt: 1, retryAt: null, closeCode: 1006 });
  renderPage({ "/": <ChatPanel /> }, "/");
  await user.type(screen.getByRole("textbox", { name: "Message Night buses" }), "typed in the tunnel{Enter}");
  const log = screen.getByRole("log", { name: "Messages in Night buses" });
  expect(log).toHaveTextContent("typed in the tunnel");
  expect(log).toHaveTextContent("Sending…");
  expect(screen.getByRole("status")).toHaveTextContent("Reconnecting… 1 message waiting to be sent.");
  act(() => useSocket.setState({ state: "closed", attempt: 0, retryAt: null, closeCode: null }));
});
