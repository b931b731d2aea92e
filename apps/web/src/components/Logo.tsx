import { Flex, Typography, theme } from 'antd';
import { useTranslation } from 'react-i18next';

/** The BackupX mark: a shield with a circular arrow. */
export function LogoMark({ size = 32 }: { size?: number }) {
  const { token } = theme.useToken();
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="8" fill={token.colorPrimary} />
      <path
        d="M16 6.5 24 9.5v6.2c0 4.9-3.3 8.6-8 10-4.7-1.4-8-5.1-8-10V9.5Z"
        fill="none"
        stroke="#fff"
        strokeWidth="2"
        strokeLinejoin="round"
      />
      <path
        d="M12.5 16.5 15 19l4.5-5"
        fill="none"
        stroke="#fff"
        strokeWidth="2"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}

/** Mark plus product name; the name hides when the sidebar is collapsed. */
export function Logo({ collapsed = false }: { collapsed?: boolean }) {
  const { t } = useTranslation();
  return (
    <Flex
      align="center"
      gap={10}
      style={{ height: 64, padding: collapsed ? '0 16px' : '0 20px', overflow: 'hidden' }}
    >
      <span style={{ flex: '0 0 32px', display: 'flex' }}>
        <LogoMark />
      </span>
      {collapsed ? null : (
        <Typography.Text strong style={{ fontSize: 18, whiteSpace: 'nowrap', letterSpacing: 0.2 }}>
          {t('common.appName')}
        </Typography.Text>
      )}
    </Flex>
  );
}
