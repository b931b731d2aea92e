import type { ReactNode } from 'react';
import { Button, Space } from 'antd';
import { Navigate, Outlet, useLocation } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { Role } from '@backupx/contract';
import { useAuth } from './AuthProvider.tsx';
import { hasRole } from './roles.ts';
import { FullPageError, FullPageSpin } from '../components/FullPageState.tsx';
import { ForbiddenPage } from '../pages/ForbiddenPage.tsx';

/** Renders the nested routes for a signed-in user; otherwise redirects to /login. */
export function RequireAuth() {
  const auth = useAuth();
  const location = useLocation();
  const { t } = useTranslation();
  switch (auth.status) {
    case 'loading':
      return <FullPageSpin />;
    case 'error':
      return (
        <FullPageError
          title={t('auth.sessionErrorTitle')}
          description={t('auth.sessionErrorDescription')}
          actions={
            <Space>
              <Button type="primary" onClick={auth.refresh}>
                {t('common.retry')}
              </Button>
              <Button onClick={() => void auth.signOut()}>{t('auth.signInAgain')}</Button>
            </Space>
          }
        />
      );
    case 'anonymous':
      return <Navigate to="/login" replace state={{ from: location }} />;
    case 'authenticated':
      return <Outlet />;
  }
}

/** Shows the 403 page instead of `children` when the user's role is below `role`. */
export function RequireRole({ role, children }: { role: Role; children: ReactNode }) {
  const { user } = useAuth();
  if (!hasRole(user?.role, role)) return <ForbiddenPage />;
  return children;
}
