import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import enUS from './locales/en-US.ts';
import zhCN from './locales/zh-CN.ts';
import { readStorage, writeStorage } from '../lib/storage.ts';

/** Languages of the console, in menu order. */
export const languages = ['en-US', 'zh-CN'] as const;
export type Language = (typeof languages)[number];

/** localStorage key of the chosen language. */
export const LANGUAGE_STORAGE_KEY = 'backupx-language';

export const resources = {
  'en-US': { translation: enUS },
  'zh-CN': { translation: zhCN },
} as const;

export const isLanguage = (value: unknown): value is Language =>
  typeof value === 'string' && (languages as readonly string[]).includes(value);

/** Maps a BCP 47 tag of the browser to a console language: zh* → zh-CN, else undefined. */
export function languageFromBrowserTag(tag: string | undefined): Language | undefined {
  if (!tag) return undefined;
  const lower = tag.toLowerCase();
  if (lower.startsWith('zh')) return 'zh-CN';
  if (lower.startsWith('en')) return 'en-US';
  return undefined;
}

/** The stored choice, else the first supported browser language, else en-US. */
export function detectLanguage(): Language {
  const stored = readStorage(LANGUAGE_STORAGE_KEY);
  if (isLanguage(stored)) return stored;
  const tags = typeof navigator === 'undefined' ? [] : [...navigator.languages, navigator.language];
  for (const tag of tags) {
    const language = languageFromBrowserTag(tag);
    if (language) return language;
  }
  return 'en-US';
}

const mirrorToDocument = (language: string) => {
  if (typeof document !== 'undefined') document.documentElement.lang = language;
};

/** Switches the console language, remembers the choice and mirrors it to `<html lang>`. */
export async function changeLanguage(language: Language): Promise<void> {
  writeStorage(LANGUAGE_STORAGE_KEY, language);
  await i18next.changeLanguage(language);
}

i18next.on('languageChanged', mirrorToDocument);

const initialLanguage = detectLanguage();
void i18next.use(initReactI18next).init({
  resources,
  lng: initialLanguage,
  fallbackLng: 'en-US',
  supportedLngs: [...languages],
  defaultNS: 'translation',
  initAsync: false,
  interpolation: { escapeValue: false },
  returnNull: false,
});
mirrorToDocument(initialLanguage);

export default i18next;
