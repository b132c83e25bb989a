/// <reference types="vitest/config" />
import { fileURLToPath, URL } from "node:url";

import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";

const API_TARGET = process.env.VEZA_API ?? "http://127.0.0.1:8000";

// The API serves the build at /, so every asset is absolute from the root.
export default defineConfig({
  base: "/",
  plugins: [
    react(),
    tailwindcss(),
    VitePWA({
      registerType: "autoUpdate",
      injectRegister: "script",
      includeAssets: ["icon.svg", "offline.html", "offline.css"],
      manifest: {
        name: "Veza",
        short_name: "Veza",
        description: "Listen, upload and talk about music.",
        start_url: "/",
        display: "standalone",
        background_color: "#0b0b10",
        theme_color: "#6d28d9",
        icons: [
          { src: "/icon-192.png", sizes: "192x192", type: "image/png" },
          { src: "/icon-512.png", sizes: "512x512", type: "image/png" },
          { src: "/icon-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
        ],
      },
      workbox: {
        // The app shell is cached; the API, streams and objects always go to the network.
        navigateFallback: "/index.html",
        navigateFallbackDenylist: [/^\/api\//, /^\/rest\//, /^\/files\//, /^\/metrics/, /^\/healthz/, /^\/readyz/],
        globPatterns: ["**/*.{js,css,html,svg,png,woff2}"],
        // A navigation the shell does not answer (the API's own pages, an object's link) gets
        // the static offline page when the network does not answer it either.
        runtimeCaching: [
          {
            urlPattern: ({ request, url }) =>
              request.mode === "navigate" && /^\/(api|rest|files)\/|^\/(metrics|healthz|readyz)/.test(url.pathname),
            handler: "NetworkOnly",
            options: { precacheFallback: { fallbackURL: "/offline.html" } },
          },
        ],
      },
    }),
  ],
  resolve: {
    alias: [
      { find: "@", replacement: fileURLToPath(new URL("./src", import.meta.url)) },
      // Radix's scroll lock without the <style> element it injects (the CSP refuses it).
      { find: /^react-remove-scroll-bar$/, replacement: fileURLToPath(new URL("./src/lib/removeScrollBar.ts", import.meta.url)) },
    ],
  },
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false },
  server: {
    // `VEZA_API=http://127.0.0.1:8731 npx vite` talks to a `veza up --port 8731`.
    proxy: { "/api": API_TARGET, "/files": API_TARGET },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    // A test's time limit, not a measure: jsdom renders slowly on a shared, busy machine.
    testTimeout: 15_000,
  },
});
