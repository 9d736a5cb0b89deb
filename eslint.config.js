// ESLint for the browser pages: the agent desktop and wallboard (ES modules, no build step) and
// the web chat page (a classic script inline in its HTML). Run with `npx eslint`.

import js from "@eslint/js";
import html from "eslint-plugin-html";
import globals from "globals";

const rules = {
  "no-unused-vars": ["error", { args: "after-used", caughtErrors: "all", ignoreRestSiblings: true }],
  "no-undef": "error",
};

export default [
  {
    ignores: ["node_modules/", ".venv/", "artifacts/", "build/", "dist/"],
  },
  {
    files: ["agent_desktop/static/**/*.js"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: "module",
      globals: globals.browser,
    },
    rules: { ...js.configs.recommended.rules, ...rules },
  },
  {
    files: ["adapters/webchat/static/**/*.html"],
    plugins: { html },
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: "script",
      globals: globals.browser,
    },
    rules: { ...js.configs.recommended.rules, ...rules },
  },
  {
    files: ["eslint.config.js"],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: globals.node },
  },
];
