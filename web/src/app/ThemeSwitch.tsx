import { Switch } from "radix-ui";
import { useId } from "react";
import { useTranslation } from "react-i18next";

import { setTheme, useTheme } from "@/lib/theme";

/** Dark theme on or off; until touched it follows the system's setting. */
export function ThemeSwitch() {
  const { t } = useTranslation();
  const theme = useTheme();
  const id = useId();
  return (
    <div className="flex items-center gap-2">
      <label htmlFor={id} className="sr-only">
        {t("nav.darkTheme")}
      </label>
      <Switch.Root
        id={id}
        checked={theme === "dark"}
        onCheckedChange={(on) => setTheme(on ? "dark" : "light")}
        className="relative h-6 w-11 rounded-full border border-zinc-400 bg-zinc-200 data-[state=checked]:bg-violet-700 dark:border-zinc-500 dark:bg-zinc-700 dark:data-[state=checked]:bg-violet-600"
      >
        <Switch.Thumb className="pointer-events-none flex h-5 w-5 translate-x-0.5 items-center justify-center rounded-full bg-white text-xs shadow transition-transform data-[state=checked]:translate-x-[1.3rem]">
          <span aria-hidden="true">{theme === "dark" ? "☾" : "☀"}</span>
        </Switch.Thumb>
      </Switch.Root>
    </div>
  );
}
