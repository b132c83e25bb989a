import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, test, vi } from "vitest";

import { ErrorBoundary } from "./ErrorBoundary";

let broken = true;
function Page() {
  if (broken) throw new Error("the page fell over");
  return <p>the page</p>;
}

test("a page that throws shows a readable message and a way to try again", async () => {
  const user = userEvent.setup();
  const quiet = vi.spyOn(console, "error").mockImplementation(() => {});
  render(
    <ErrorBoundary>
      <Page />
    </ErrorBoundary>,
  );

  expect(screen.getByRole("alert")).toHaveTextContent("Something went wrong");
  expect(screen.getByRole("alert")).toHaveTextContent("the page fell over");

  broken = false;
  await user.click(screen.getByRole("button", { name: "Try again" }));
  expect(screen.getByText("the page")).toBeInTheDocument();
  quiet.mockRestore();
});
