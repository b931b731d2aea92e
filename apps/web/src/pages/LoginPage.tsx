import { useState } from 'react';
import type { ReactNode } from 'react';
import { Alert, App, Button, Card, Flex, Form, Grid, Input, Result, Skeleton, Typography, theme } from 'antd';
import {
  CloudServerOutlined,
  GithubOutlined,
  LockOutlined,
  SafetyCertificateOutlined,
  SafetyOutlined,
  UserOutlined,
} from '@ant-design/icons';
import { Navigate, useLocation } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import { apiCall } from '../api/client.ts';
import { queryKeys } from '../api/queryClient.ts';
import { useAuth } from '../auth/AuthProvider.tsx';
import { FullPageSpin } from '../components/FullPageState.tsx';
import { LogoMark } from '../components/Logo.tsx';
import { LanguageSwitch, ThemeSwitch } from '../layout/PreferenceSwitches.tsx';
import { errorCode, errorText } from '../lib/i18n-helpers.ts';
import { paths } from '../paths.ts';

const USERNAME_PATTERN = /^[A-Za-z0-9._@-]+$/;

/** Where to go after signing in: the page that sent the user to /login, else the dashboard. */
function redirectTarget(state: unknown): string {
  if (typeof state === 'object' && state !== null && 'from' in state) {
    const from: unknown = state.from;
    if (
      typeof from === 'object' &&
      from !== null &&
      'pathname' in from &&
      typeof from.pathname === 'string'
    ) {
      const search = 'search' in from && typeof from.search === 'string' ? from.search : '';
      if (from.pathname.startsWith('/') && from.pathname !== paths.login) return `${from.pathname}${search}`;
    }
  }
  return paths.dashboard;
}

/** /login: the first-administrator setup while no user exists, the sign-in form afterwards. */
export function LoginPage() {
  const { t } = useTranslation();
  const auth = useAuth();
  const location = useLocation();
  const status = useQuery({
    queryKey: queryKeys.setupStatus,
    queryFn: ({ signal }) => apiCall(apiRoutes.auth.setupStatus, { signal }),
    retry: false,
    staleTime: 0,
  });

  if (auth.status === 'authenticated') return <Navigate to={redirectTarget(location.state)} replace />;
  if (auth.status === 'loading') return <FullPageSpin />;

  let content: ReactNode;
  if (status.isPending) {
    content = (
      <Card>
        <Skeleton active paragraph={{ rows: 5 }} />
      </Card>
    );
  } else if (status.isError) {
    content = (
      <Card>
        <Result
          status="warning"
          title={t('auth.statusErrorTitle')}
          subTitle={
            <>
              {t('auth.statusErrorDescription')}
              <br />
              <Typography.Text type="secondary">{errorText(t, status.error)}</Typography.Text>
            </>
          }
          extra={
            <Button
              type="primary"
              loading={status.isFetching}
              onClick={() => void status.refetch()}
              data-testid="setup-status-retry"
            >
              {t('common.retry')}
            </Button>
          }
        />
      </Card>
    );
  } else if (!status.data.initialized) {
    content = <SetupForm />;
  } else {
    content = <LoginForm />;
  }

  return <AuthLayout>{content}</AuthLayout>;
}

function AuthLayout({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const screens = Grid.useBreakpoint();
  const wide = screens.lg ?? false;
  const features = [
    { icon: <SafetyCertificateOutlined />, text: t('auth.brandFeatureSecure') },
    { icon: <CloudServerOutlined />, text: t('auth.brandFeatureAgents') },
    { icon: <GithubOutlined />, text: t('auth.brandFeatureOpen') },
  ];
  return (
    <Flex style={{ minHeight: '100vh', background: token.colorBgLayout }}>
      {wide ? (
        <Flex
          vertical
          justify="space-between"
          style={{
            flex: '0 0 44%',
            maxWidth: 640,
            padding: '48px 56px',
            color: '#fff',
            background: 'linear-gradient(150deg, #0b3d91 0%, #1668dc 55%, #13a8a8 100%)',
          }}
        >
          <Flex align="center" gap={12}>
            <span style={{ display: 'flex', borderRadius: 8, boxShadow: '0 0 0 2px rgba(255,255,255,0.5)' }}>
              <LogoMark size={36} />
            </span>
            <span style={{ fontSize: 22, fontWeight: 600 }}>{t('common.appName')}</span>
          </Flex>
          <div>
            <h1 style={{ fontSize: 34, lineHeight: 1.25, margin: '0 0 16px', fontWeight: 600 }}>
              {t('auth.brandTitle')}
            </h1>
            <p style={{ fontSize: 16, opacity: 0.85, margin: '0 0 32px', maxWidth: 440 }}>
              {t('auth.brandSubtitle')}
            </p>
            <Flex vertical gap={16}>
              {features.map((feature) => (
                <Flex key={feature.text} align="center" gap={12} style={{ fontSize: 15 }}>
                  <Flex
                    align="center"
                    justify="center"
                    style={{
                      width: 36,
                      height: 36,
                      borderRadius: 8,
                      background: 'rgba(255,255,255,0.16)',
                      fontSize: 18,
                    }}
                  >
                    {feature.icon}
                  </Flex>
                  <span style={{ opacity: 0.92 }}>{feature.text}</span>
                </Flex>
              ))}
            </Flex>
          </div>
          <span style={{ opacity: 0.6, fontSize: 13 }}>{t('auth.brandFooter')}</span>
        </Flex>
      ) : null}
      <Flex vertical style={{ flex: 1, minWidth: 0 }}>
        <Flex justify="space-between" align="center" style={{ padding: '16px 24px' }}>
          {wide ? (
            <span />
          ) : (
            <Flex align="center" gap={10}>
              <LogoMark />
              <Typography.Text strong style={{ fontSize: 18 }}>
                {t('common.appName')}
              </Typography.Text>
            </Flex>
          )}
          <Flex gap={4}>
            <LanguageSwitch />
            <ThemeSwitch />
          </Flex>
        </Flex>
        <Flex flex={1} align="center" justify="center" style={{ padding: '24px 16px 64px' }}>
          <div style={{ width: '100%', maxWidth: 420 }}>{children}</div>
        </Flex>
      </Flex>
    </Flex>
  );
}

interface LoginValues {
  username: string;
  password: string;
  twoFactorCode?: string;
}

function LoginForm() {
  const { t } = useTranslation();
  const auth = useAuth();
  const [form] = Form.useForm<LoginValues>();
  const [needCode, setNeedCode] = useState(false);

  const login = useMutation({
    mutationFn: (values: LoginValues) =>
      apiCall(apiRoutes.auth.login, {
        body: {
          username: values.username.trim(),
          password: values.password,
          ...(needCode && values.twoFactorCode ? { twoFactorCode: values.twoFactorCode.trim() } : {}),
        },
      }),
    onSuccess: (session) => {
      auth.signIn(session);
    },
    onError: (error) => {
      const code = errorCode(error);
      if (code === 'AUTH_2FA_REQUIRED') setNeedCode(true);
      if (code === 'AUTH_2FA_INVALID') form.setFieldValue('twoFactorCode', '');
    },
  });

  const code = errorCode(login.error);
  const codeRequested = code === 'AUTH_2FA_REQUIRED';

  return (
    <Card styles={{ body: { padding: 32 } }}>
      <Typography.Title level={3} style={{ marginTop: 0, marginBottom: 4 }}>
        {t('auth.loginTitle')}
      </Typography.Title>
      <Typography.Paragraph type="secondary" style={{ marginBottom: 24 }}>
        {t('auth.loginSubtitle')}
      </Typography.Paragraph>
      {login.isError && !codeRequested ? (
        <Alert
          type="error"
          showIcon
          title={errorText(t, login.error)}
          style={{ marginBottom: 16 }}
          data-testid="login-error"
        />
      ) : null}
      {needCode && (codeRequested || !login.isError) ? (
        <Alert type="info" showIcon title={t('auth.twoFactorPrompt')} style={{ marginBottom: 16 }} />
      ) : null}
      <Form<LoginValues>
        form={form}
        layout="vertical"
        requiredMark={false}
        size="large"
        onFinish={(values) => login.mutate(values)}
      >
        <Form.Item
          name="username"
          label={t('auth.username')}
          rules={[{ required: true, whitespace: true, message: t('auth.usernameRequired') }]}
        >
          <Input
            prefix={<UserOutlined />}
            autoComplete="username"
            autoFocus
            placeholder={t('auth.usernamePlaceholder')}
            data-testid="login-username"
          />
        </Form.Item>
        <Form.Item
          name="password"
          label={t('auth.password')}
          rules={[{ required: true, message: t('auth.passwordRequired') }]}
        >
          <Input.Password
            prefix={<LockOutlined />}
            autoComplete="current-password"
            placeholder={t('auth.passwordPlaceholder')}
            data-testid="login-password"
          />
        </Form.Item>
        {needCode ? (
          <Form.Item
            name="twoFactorCode"
            label={t('auth.code')}
            extra={t('auth.codeHelp')}
            rules={[
              { required: true, whitespace: true, message: t('auth.codeRequired') },
              { min: 6, max: 32, message: t('auth.codeRequired') },
            ]}
          >
            <Input
              prefix={<SafetyOutlined />}
              autoComplete="one-time-code"
              autoFocus
              placeholder={t('auth.codePlaceholder')}
              className="bx-mono"
              data-testid="login-code"
            />
          </Form.Item>
        ) : null}
        <Button
          type="primary"
          htmlType="submit"
          block
          loading={login.isPending}
          data-testid="login-submit"
          style={{ marginTop: 8 }}
        >
          {t('auth.submitLogin')}
        </Button>
      </Form>
    </Card>
  );
}

interface SetupValues {
  displayName: string;
  username: string;
  password: string;
  confirmPassword: string;
}

function SetupForm() {
  const { t } = useTranslation();
  const auth = useAuth();
  const { message } = App.useApp();
  const queryClient = useQueryClient();

  const setup = useMutation({
    mutationFn: (values: SetupValues) =>
      apiCall(apiRoutes.auth.setup, {
        body: {
          displayName: values.displayName.trim(),
          username: values.username.trim(),
          password: values.password,
        },
      }),
    onSuccess: (session) => {
      auth.signIn(session);
      void message.success(t('auth.setupDone'));
    },
    onError: (error) => {
      // Someone else finished the setup meanwhile: show the sign-in form.
      if (errorCode(error) === 'AUTH_SETUP_DISABLED')
        void queryClient.invalidateQueries({ queryKey: queryKeys.setupStatus });
    },
  });

  return (
    <Card styles={{ body: { padding: 32 } }}>
      <Typography.Title level={3} style={{ marginTop: 0, marginBottom: 4 }}>
        {t('auth.setupTitle')}
      </Typography.Title>
      <Typography.Paragraph type="secondary" style={{ marginBottom: 24 }}>
        {t('auth.setupSubtitle')}
      </Typography.Paragraph>
      {setup.isError ? (
        <Alert type="error" showIcon title={errorText(t, setup.error)} style={{ marginBottom: 16 }} />
      ) : null}
      <Form<SetupValues> layout="vertical" requiredMark={false} onFinish={(values) => setup.mutate(values)}>
        <Form.Item
          name="displayName"
          label={t('auth.displayName')}
          rules={[
            { required: true, whitespace: true, message: t('auth.displayNameRequired') },
            { max: 128, message: t('auth.displayNameRequired') },
          ]}
        >
          <Input autoFocus placeholder={t('auth.displayNamePlaceholder')} data-testid="setup-displayname" />
        </Form.Item>
        <Form.Item
          name="username"
          label={t('auth.username')}
          rules={[
            { required: true, whitespace: true, message: t('auth.usernameRequired') },
            { min: 3, max: 64, message: t('auth.usernameLength') },
            { pattern: USERNAME_PATTERN, message: t('auth.usernamePattern') },
          ]}
        >
          <Input
            autoComplete="username"
            placeholder={t('auth.setupUsernamePlaceholder')}
            data-testid="setup-username"
          />
        </Form.Item>
        <Form.Item
          name="password"
          label={t('auth.newPassword')}
          rules={[
            { required: true, message: t('auth.passwordRequired') },
            { min: 8, max: 128, message: t('auth.passwordLength') },
          ]}
        >
          <Input.Password
            autoComplete="new-password"
            placeholder={t('auth.newPasswordPlaceholder')}
            data-testid="setup-password"
          />
        </Form.Item>
        <Form.Item
          name="confirmPassword"
          label={t('auth.confirmPassword')}
          dependencies={['password']}
          rules={[
            { required: true, message: t('auth.passwordRequired') },
            ({ getFieldValue }) => ({
              validator: (_rule, value: string | undefined) =>
                !value || value === getFieldValue('password')
                  ? Promise.resolve()
                  : Promise.reject(new Error(t('auth.passwordMismatch'))),
            }),
          ]}
        >
          <Input.Password
            autoComplete="new-password"
            placeholder={t('auth.confirmPasswordPlaceholder')}
            data-testid="setup-password-confirm"
          />
        </Form.Item>
        <Button
          type="primary"
          htmlType="submit"
          block
          size="large"
          loading={setup.isPending}
          data-testid="setup-submit"
        >
          {t('auth.submitSetup')}
        </Button>
      </Form>
    </Card>
  );
}
