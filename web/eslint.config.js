import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

// Features are islands: a feature imports shared code (components, lib) and other features
// only through their public face (src/features/<name>/index.ts).
const featureBoundaries = {
  patterns: [
    {
      group: ["@/features/*/*", "../../features/*/*", "../*/api/*", "../*/components/*", "../*/hooks/*"],
      message: "import another feature through its index.ts",
    },
  ],
};

export default tseslint.config(
  { ignores: ["dist", "dev-dist", "node_modules"] },
  {
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    files: ["**/*.{ts,tsx}"],
    languageOptions: { ecmaVersion: 2022, globals: globals.browser },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "no-restricted-imports": ["error", featureBoundaries],
    },
  },
  {
    // Shared code knows no feature at all.
    files: ["src/components/**", "src/lib/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["@/features/*", "@/app/*"], message: "shared code knows no feature" }] }],
    },
  },
);
