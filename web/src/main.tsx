import "./index.css";
import { languageReady } from "@/lib/i18n";

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "@/app/App";
import { applyTheme, watchSystemTheme } from "@/lib/theme";

applyTheme();
watchSystemTheme();

const root = document.getElementById("root");
if (root) {
  const render = () =>
    createRoot(root).render(
      <StrictMode>
        <App />
      </StrictMode>,
    );
  // A reader in another language than English: its strings first, so the first paint is in it.
  if (languageReady) void languageReady.then(render, render);
  else render();
}
