import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useLocation, useNavigate } from "react-router-dom";

import { inputClass } from "@/components/Field";
import { cn } from "@/lib/cn";

export const SEARCH_DELAY_MS = 250;

/**
 * The header's search box. Typing searches as you go (the search page follows after a short
 * pause, ~250 ms); Enter goes there at once. On the search page it shows the URL's query.
 */
export function SearchBox() {
  const { t } = useTranslation("search");
  const navigate = useNavigate();
  const location = useLocation();
  const onSearchPage = location.pathname === "/search";
  const urlQuery = onSearchPage ? (new URLSearchParams(location.search).get("q") ?? "") : "";
  const [text, setText] = useState(urlQuery);
  const typed = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  // The timer reads the URL as it is when it fires (the filters may have changed meanwhile).
  const latest = useRef(location);
  latest.current = location;

  // Back/forward or a link changed the query: show it.
  useEffect(() => {
    if (!typed.current) setText(urlQuery);
  }, [urlQuery]);

  useEffect(() => () => clearTimeout(timer.current), []);

  const go = (value: string, immediately: boolean) => {
    clearTimeout(timer.current);
    const run = () => {
      typed.current = false;
      const here = latest.current.pathname === "/search";
      const params = new URLSearchParams(here ? latest.current.search : "");
      if (value.trim()) params.set("q", value.trim());
      else params.delete("q");
      const search = params.toString();
      navigate({ pathname: "/search", search: search ? `?${search}` : "" }, { replace: here });
    };
    if (immediately) run();
    else timer.current = setTimeout(run, SEARCH_DELAY_MS);
  };

  return (
    <form
      role="search"
      aria-label={t("region")}
      onSubmit={(event) => {
        event.preventDefault();
        go(text, true);
      }}
    >
      <label htmlFor="search-box" className="sr-only">
        {t("label")}
      </label>
      <input
        id="search-box"
        type="search"
        name="q"
        autoComplete="off"
        enterKeyHint="search"
        placeholder={t("placeholder")}
        value={text}
        maxLength={200}
        onChange={(event) => {
          typed.current = true;
          setText(event.target.value);
          if (event.target.value.trim() || onSearchPage) go(event.target.value, false);
        }}
        className={cn(inputClass, "py-1.5!")}
      />
    </form>
  );
}
