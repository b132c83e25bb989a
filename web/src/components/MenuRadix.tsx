/** Radix's dropdown menu as the app draws it; loaded after the first paint by ./Menu. */
import { DropdownMenu } from "radix-ui";
import { type ReactNode } from "react";

import { cn } from "@/lib/cn";

export const Root = DropdownMenu.Root;
export const Trigger = DropdownMenu.Trigger;
export const RadioGroup = DropdownMenu.RadioGroup;
export const ItemIndicator = DropdownMenu.ItemIndicator;

export function Content({ children, label }: { children: ReactNode; label?: string | undefined }) {
  return (
    <DropdownMenu.Portal>
      <DropdownMenu.Content
        aria-label={label}
        align="end"
        sideOffset={4}
        className="z-50 min-w-48 rounded-md border border-zinc-200 bg-white p-1 text-zinc-900 shadow-lg dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100"
      >
        {children}
      </DropdownMenu.Content>
    </DropdownMenu.Portal>
  );
}

export const itemClass =
  "flex cursor-pointer select-none items-center gap-2 rounded px-3 py-2 text-sm outline-none data-[disabled]:cursor-not-allowed data-[disabled]:opacity-60 data-[highlighted]:bg-violet-100 data-[highlighted]:text-violet-950 dark:data-[highlighted]:bg-violet-900 dark:data-[highlighted]:text-white";

export function Item({ className, ...props }: React.ComponentProps<typeof DropdownMenu.Item>) {
  return <DropdownMenu.Item className={cn(itemClass, className)} {...props} />;
}

export function RadioItem({ className, ...props }: React.ComponentProps<typeof DropdownMenu.RadioItem>) {
  return <DropdownMenu.RadioItem className={cn(itemClass, className)} {...props} />;
}

export function Label({ children }: { children: ReactNode }) {
  return <DropdownMenu.Label className="px-3 py-1 text-xs font-semibold uppercase text-zinc-600 dark:text-zinc-400">{children}</DropdownMenu.Label>;
}

export function Separator() {
  return <DropdownMenu.Separator className="my-1 h-px bg-zinc-200 dark:bg-zinc-700" />;
}
