import { useState } from 'react';
import { App, Avatar, Button, Dropdown, Flex, Tag, Typography, theme } from 'antd';
import type { MenuProps } from 'antd';
import { DownOutlined, KeyOutlined, LogoutOutlined, SafetyOutlined } from '@ant-design/icons';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useAuth, useCurrentUser } from '../auth/AuthProvider.tsx';
import { RoleTag } from '../components/RoleTag.tsx';
import { ChangePasswordModal } from '../account/ChangePasswordModal.tsx';
import { TwoFactorModal } from '../account/TwoFactorModal.tsx';
import { paths } from '../paths.ts';

type AccountDialog = 'password' | 'two-factor' | null;

/** First letter of the display name for the avatar. */
const initial = (name: string) => (Array.from(name.trim())[0] ?? '?').toUpperCase();

/** Avatar, name and role in the header, with the account actions. */
export function UserMenu({ compact }: { compact: boolean }) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const user = useCurrentUser();
  const { signOut } = useAuth();
  const [dialog, setDialog] = useState<AccountDialog>(null);

  const logout = async () => {
    await signOut();
    void message.success(t('auth.loggedOut'));
    void navigate(paths.login, { replace: true });
  };

  const items: MenuProps['items'] = [
    {
      key: 'identity',
      disabled: true,
      style: { cursor: 'default' },
      label: (
        <div style={{ padding: '4px 0', minWidth: 200 }}>
          <Typography.Text strong style={{ display: 'block', color: token.colorText }}>
            {user.displayName}
          </Typography.Text>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            @{user.username}
          </Typography.Text>
        </div>
      ),
    },
    { type: 'divider' },
    {
      key: 'change-password',
      icon: <KeyOutlined />,
      label: <span data-testid="menu-change-password">{t('account.changePassword')}</span>,
    },
    {
      key: 'two-factor',
      icon: <SafetyOutlined />,
      label: (
        <Flex data-testid="menu-2fa" justify="space-between" align="center" gap={12}>
          <span>{t('account.twoFactor')}</span>
          <Tag color={user.twoFactorEnabled ? 'success' : 'default'} style={{ marginInlineEnd: 0 }}>
            {user.twoFactorEnabled ? t('account.totp.statusEnabled') : t('account.totp.statusDisabled')}
          </Tag>
        </Flex>
      ),
    },
    { type: 'divider' },
    {
      key: 'logout',
      icon: <LogoutOutlined />,
      danger: true,
      label: <span data-testid="menu-logout">{t('account.logout')}</span>,
    },
  ];

  const onClick: MenuProps['onClick'] = ({ key }) => {
    if (key === 'change-password') setDialog('password');
    else if (key === 'two-factor') setDialog('two-factor');
    else if (key === 'logout') void logout();
  };

  return (
    <>
      <Dropdown menu={{ items, onClick }} trigger={['click']} placement="bottomRight">
        <Button
          type="text"
          data-testid="user-menu"
          aria-label={t('account.menu')}
          style={{ height: 44, paddingInline: 8 }}
        >
          <Flex align="center" gap={8}>
            <Avatar size={30} style={{ background: token.colorPrimary, flex: '0 0 auto' }}>
              {initial(user.displayName || user.username)}
            </Avatar>
            {compact ? null : (
              <Typography.Text strong ellipsis style={{ maxWidth: 160 }}>
                {user.displayName || user.username}
              </Typography.Text>
            )}
            <RoleTag role={user.role} testId="role-tag" />
            <DownOutlined style={{ fontSize: 10, color: token.colorTextTertiary }} />
          </Flex>
        </Button>
      </Dropdown>
      <ChangePasswordModal open={dialog === 'password'} onClose={() => setDialog(null)} />
      {/* Unmounted on close so the secret and recovery codes leave the page at once. */}
      {dialog === 'two-factor' ? <TwoFactorModal open onClose={() => setDialog(null)} /> : null}
    </>
  );
}
