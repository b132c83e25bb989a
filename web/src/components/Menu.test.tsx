import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, expect, test, vi } from "vitest";

import { Button } from "./Button";

/** The menu module afresh: its Radix code not loaded yet, as on a page just opened. */
async function freshMenu(onSelect: () => void) {
  vi.resetModules();
  const { Menu, MenuContent, MenuItem, MenuTrigger } = await import("./Menu");
  render(
    <Menu>
      <MenuTrigger asChild>
        <Button>Options</Button>
      </MenuTrigger>
      <MenuContent label="Options">
        <MenuItem onSelect={onSelect}>Do it</MenuItem>
      </MenuContent>
    </Menu>,
  );
  return screen.getByRole("button", { name: "Options" });
}

beforeEach(() => {
  vi.restoreAllMocks();
});

test("a key pressed on the menu's button before its code is here opens the menu once it is", async () => {
  const user = userEvent.setup();
  const selected = vi.fn();
  const trigger = await freshMenu(selected);
  expect(trigger).toHaveAttribute("aria-haspopup", "menu");
  expect(trigger).toHaveAttribute("aria-expanded", "false");
  expect(screen.queryByRole("menu")).toBeNull();

  trigger.focus();
  await user.keyboard("{Enter}");
  const menu = await screen.findByRole("menu", { name: "Options" });
  await user.click(await screen.findByRole("menuitem", { name: "Do it" }));
  expect(selected).toHaveBeenCalledTimes(1);
  await waitFor(() => expect(menu).not.toBeInTheDocument());
  // Closed, the focus is back on the button (the real one, which took the stand-in's place).
  expect(screen.getByRole("button", { name: "Options" })).toHaveFocus();
});

test("a pointer press before the code is here opens the menu too", async () => {
  const user = userEvent.setup();
  const trigger = await freshMenu(() => {});
  await user.pointer({ keys: "[MouseLeft>]", target: trigger });
  expect(await screen.findByRole("menu", { name: "Options" })).toBeInTheDocument();
  expect(screen.getByRole("menuitem", { name: "Do it" })).toBeInTheDocument();
});

test("the code arriving while the button has the focus leaves the focus on it", async () => {
  const trigger = await freshMenu(() => {});
  trigger.focus();
  // The real button (Radix's, with its id) takes the stand-in's place, focused.
  await waitFor(() => expect(screen.getByRole("button", { name: "Options" })).toHaveAttribute("id"));
  expect(screen.getByRole("button", { name: "Options" })).toHaveFocus();
  expect(screen.queryByRole("menu")).toBeNull();
});
