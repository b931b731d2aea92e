import { useMemo, useState } from 'react';
import { App as AntApp, ConfigProvider, theme as antdTheme } from 'antd';
import type { ThemeConfig } from 'antd';
import { QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter } from 'react-router';
import { createQueryClient } from './api/queryClient.ts';
import { AuthProvider } from './auth/AuthProvider.tsx';
import { AppRoutes } from './routes.tsx';
import { PreferencesProvider, usePreferences } from './theme/PreferencesProvider.tsx';
import { antdLocales } from './theme/antdLocale.ts';

const brandColor = '#1668dc';

function ThemedApp() {
  const { theme, language } = usePreferences();
  const [queryClient] = useState(createQueryClient);
  const themeConfig = useMemo<ThemeConfig>(
    () => ({
      algorithm: theme === 'dark' ? antdTheme.darkAlgorithm : antdTheme.defaultAlgorithm,
      token: { colorPrimary: brandColor, borderRadius: 8, fontSize: 14 },
      components: {
        Layout: { headerHeight: 64, headerPadding: '0 24px' },
        Menu: { itemBorderRadius: 8, activeBarBorderWidth: 0 },
      },
    }),
    [theme],
  );
  return (
    <ConfigProvider theme={themeConfig} locale={antdLocales[language]}>
      <AntApp>
        <QueryClientProvider client={queryClient}>
          <BrowserRouter>
            <AuthProvider>
              <AppRoutes />
            </AuthProvider>
          </BrowserRouter>
        </QueryClientProvider>
      </AntApp>
    </ConfigProvider>
  );
}

/** Root of the console: preferences, antd theme and locale, data cache, router and session. */
export function App() {
  return (
    <PreferencesProvider>
      <ThemedApp />
    </PreferencesProvider>
  );
}
