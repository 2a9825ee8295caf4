// Light and dark themes: follows the system until the person picks one, then remembers it.

export type Theme = "light" | "dark";

const STORAGE_KEY = "pushdeck.theme";

function systemTheme(): Theme {
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function stored(): Theme | null {
  const value = localStorage.getItem(STORAGE_KEY);
  return value === "light" || value === "dark" ? value : null;
}

export const theme = $state({ current: "light" as Theme, chosen: false });

export function initTheme(): void {
  const choice = stored();
  theme.current = choice ?? systemTheme();
  theme.chosen = choice !== null;
  apply();
  window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener("change", () => {
    if (!theme.chosen) {
      theme.current = systemTheme();
      apply();
    }
  });
}

export function toggleTheme(): void {
  theme.current = theme.current === "dark" ? "light" : "dark";
  theme.chosen = true;
  localStorage.setItem(STORAGE_KEY, theme.current);
  apply();
}

function apply(): void {
  document.documentElement.dataset.theme = theme.current;
}
