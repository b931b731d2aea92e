import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { changeLanguage, isLanguage } from '../i18n/index.ts';
import type { Language } from '../i18n/index.ts';
import { readStorage, writeStorage } from '../lib/storage.ts';

/** localStorage key of the chosen theme. */
export const THEME_STORAGE_KEY = 'backupx-theme';
export type ThemeMode = 'light' | 'dark';

const darkQuery = '(prefers-color-scheme: dark)';

/** The stored theme, else the system preference. */
function initialTheme(): ThemeMode {
  const stored = readStorage(THEME_STORAGE_KEY);
  if (stored === 'light' || stored === 'dark') return stored;
  return typeof window !== 'undefined' && window.matchMedia(darkQuery).matches ? 'dark' : 'light';
}

interface Preferences {
  theme: ThemeMode;
  toggleTheme: () => void;
  language: Language;
  setLanguage: (language: Language) => void;
  toggleLanguage: () => void;
}

const PreferencesContext = createContext<Preferences | null>(null);

export function PreferencesProvider({ children }: { children: ReactNode }) {
  const { i18n } = useTranslation();
  const [theme, setTheme] = useState<ThemeMode>(initialTheme);
  const [themeChosen, setThemeChosen] = useState(() => readStorage(THEME_STORAGE_KEY) !== null);
  const language: Language = isLanguage(i18n.resolvedLanguage) ? i18n.resolvedLanguage : 'en-US';

  // Follow the system theme until the user picks one.
  useEffect(() => {
    if (themeChosen) return undefined;
    const media = window.matchMedia(darkQuery);
    const follow = (event: MediaQueryListEvent) => {
      setTheme(event.matches ? 'dark' : 'light');
    };
    media.addEventListener('change', follow);
    return () => {
      media.removeEventListener('change', follow);
    };
  }, [themeChosen]);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    document.documentElement.style.colorScheme = theme;
  }, [theme]);

  const toggleTheme = useCallback(() => {
    const next: ThemeMode = theme === 'dark' ? 'light' : 'dark';
    writeStorage(THEME_STORAGE_KEY, next);
    setTheme(next);
    setThemeChosen(true);
  }, [theme]);

  const setLanguage = useCallback((next: Language) => {
    void changeLanguage(next);
  }, []);

  const toggleLanguage = useCallback(() => {
    void changeLanguage(language === 'zh-CN' ? 'en-US' : 'zh-CN');
  }, [language]);

  const value = useMemo(
    () => ({ theme, toggleTheme, language, setLanguage, toggleLanguage }),
    [theme, toggleTheme, language, setLanguage, toggleLanguage],
  );
  return <PreferencesContext value={value}>{children}</PreferencesContext>;
}

export function usePreferences(): Preferences {
  const value = useContext(PreferencesContext);
  if (!value) throw new Error('usePreferences must be used inside <PreferencesProvider>');
  return value;
}
