import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, test } from "vitest";

import { useSession, type Me } from "@/features/auth";
import { usePlayer } from "@/features/player";
import { renderPage } from "@/test/render";

import { TrackComments } from "./TrackComments";

const track = { id: "t1", title: "Night Bus", duration_s: 20 };
const me: Me = { id: "u2", handle: "lin", email: "lin@example.org", display_name: null, role: "listener" };

afterEach(() => {
  useSession.setState({ status: "signedOut", user: null });
  usePlayer.setState({ queue: [], index: -1, playing: false, position: 0 });
});

test("a signed-out visitor is asked to sign in to see and post comments", () => {
  renderPage({ "/": <TrackComments track={track} /> }, "/");
  expect(screen.getByRole("link", { name: "Sign in" })).toHaveAttribute("href", "/login");
  expect(screen.getByRole("region", { name: "Comments" })).toHaveTextContent("Sign in to see and post comments.");
  expect(screen.queryByLabelText("Add a comment")).toBeNull();
});

test("pinning: only while the track is loaded, on by default while it plays, and the person may turn it off", async () => {
  useSession.setState({ status: "signedIn", user: me });
  renderPage({ "/": <TrackComments track={track} /> }, "/");
  expect(screen.getByRole("checkbox", { name: "Play the track to pin a comment to a moment" })).toBeDisabled();

  usePlayer.setState({ queue: [{ key: "k1", track }], index: 0, playing: true, position: 12.3 });
  const pin = await screen.findByRole("checkbox", { name: "Pin to 0:12" });
  expect(pin).toBeChecked();
  await userEvent.click(pin);
  expect(pin).not.toBeChecked();

  usePlayer.setState({ playing: false });
  await userEvent.click(screen.getByRole("button", { name: "Post" }));
  expect(await screen.findByText("Write something first.")).toBeInTheDocument();
});
