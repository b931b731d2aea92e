import { Button, Tooltip } from 'antd';
import { MoonOutlined, SunOutlined, TranslationOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { usePreferences } from '../theme/PreferencesProvider.tsx';

/** Toggles between English and Simplified Chinese; shows the current language. */
export function LanguageSwitch() {
  const { t } = useTranslation();
  const { language, toggleLanguage } = usePreferences();
  const next = language === 'zh-CN' ? 'en-US' : 'zh-CN';
  return (
    <Tooltip title={`${t('header.switchLanguage')}: ${t(`language.${next}`)}`}>
      <Button
        type="text"
        data-testid="language-switch"
        data-language={language}
        icon={<TranslationOutlined />}
        onClick={toggleLanguage}
        aria-label={t('header.switchLanguage')}
      >
        {t('language.short')}
      </Button>
    </Tooltip>
  );
}

/** Toggles between the light and the dark theme. */
export function ThemeSwitch() {
  const { t } = useTranslation();
  const { theme, toggleTheme } = usePreferences();
  const label = theme === 'dark' ? t('header.switchToLight') : t('header.switchToDark');
  return (
    <Tooltip title={label}>
      <Button
        type="text"
        data-testid="theme-switch"
        data-theme={theme}
        aria-label={label}
        aria-pressed={theme === 'dark'}
        icon={theme === 'dark' ? <SunOutlined /> : <MoonOutlined />}
        onClick={toggleTheme}
      />
    </Tooltip>
  );
}
