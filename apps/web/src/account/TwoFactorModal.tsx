import { useState } from 'react';
import type { ReactNode } from 'react';
import {
  Alert,
  App,
  Button,
  Descriptions,
  Flex,
  Form,
  Input,
  Modal,
  Space,
  Tag,
  Typography,
  theme,
} from 'antd';
import { DownloadOutlined, SafetyCertificateOutlined } from '@ant-design/icons';
import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { RouteResponse } from '@backupx/contract';
import { apiCall, saveBlob } from '../api/client.ts';
import { useAuth, useCurrentUser } from '../auth/AuthProvider.tsx';
import { CopyButton } from '../components/CopyButton.tsx';
import { errorText } from '../lib/i18n-helpers.ts';

type Step = 'start' | 'scan' | 'codes' | 'overview' | 'regenerate' | 'disable';
type SetupData = RouteResponse<typeof apiRoutes.auth.twoFactorSetup>;

/** Fewer recovery codes than this triggers a warning. */
const LOW_RECOVERY_CODES = 3;

/**
 * Two-factor authentication of the signed-in user: set up TOTP (password → QR code → code →
 * recovery codes), or, once enabled, regenerate the recovery codes or disable it.
 */
export function TwoFactorModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const user = useCurrentUser();
  const [step, setStep] = useState<Step | null>(null);
  const [setup, setSetup] = useState<SetupData | null>(null);
  const [codes, setCodes] = useState<string[]>([]);
  const current: Step = step ?? (user.twoFactorEnabled ? 'overview' : 'start');

  const close = () => {
    setStep(null);
    setSetup(null);
    setCodes([]);
    onClose();
  };

  const showCodes = (recoveryCodes: string[]) => {
    setCodes(recoveryCodes);
    setSetup(null);
    setStep('codes');
  };

  let body: ReactNode;
  switch (current) {
    case 'start':
      body = (
        <StartStep
          onStarted={(data) => {
            setSetup(data);
            setStep('scan');
          }}
        />
      );
      break;
    case 'scan':
      body = setup ? <ScanStep setup={setup} onEnabled={showCodes} /> : null;
      break;
    case 'codes':
      body = <CodesStep codes={codes} username={user.username} onDone={close} />;
      break;
    case 'overview':
      body = <OverviewStep onRegenerate={() => setStep('regenerate')} onDisable={() => setStep('disable')} />;
      break;
    case 'regenerate':
      body = (
        <ConfirmStep
          action="regenerate"
          onBack={() => setStep(null)}
          onRegenerated={showCodes}
          onDisabled={close}
        />
      );
      break;
    case 'disable':
      body = (
        <ConfirmStep
          action="disable"
          onBack={() => setStep(null)}
          onRegenerated={showCodes}
          onDisabled={() => setStep(null)}
        />
      );
      break;
  }

  return (
    <Modal
      open={open}
      title={
        <Space>
          <SafetyCertificateOutlined />
          {t('account.totp.title')}
        </Space>
      }
      onCancel={close}
      footer={null}
      width={560}
      mask={{ closable: current !== 'codes' }}
      destroyOnHidden
    >
      <div style={{ paddingTop: 8 }}>{body}</div>
    </Modal>
  );
}

function StartStep({ onStarted }: { onStarted: (data: SetupData) => void }) {
  const { t } = useTranslation();
  const start = useMutation({
    mutationFn: (currentPassword: string) =>
      apiCall(apiRoutes.auth.twoFactorSetup, { body: { currentPassword } }),
    onSuccess: onStarted,
  });
  return (
    <>
      <Typography.Paragraph type="secondary">{t('account.totp.intro')}</Typography.Paragraph>
      <StatusLine />
      {start.isError ? (
        <Alert type="error" showIcon title={errorText(t, start.error)} style={{ marginBottom: 16 }} />
      ) : null}
      <Form<{ currentPassword: string }>
        layout="vertical"
        requiredMark={false}
        onFinish={({ currentPassword }) => start.mutate(currentPassword)}
      >
        <Form.Item
          name="currentPassword"
          label={t('account.totp.currentPassword')}
          rules={[{ required: true, message: t('auth.passwordRequired') }]}
        >
          <Input.Password
            autoFocus
            autoComplete="current-password"
            placeholder={t('account.totp.currentPasswordPlaceholder')}
            data-testid="totp-password"
          />
        </Form.Item>
        <Button type="primary" htmlType="submit" block loading={start.isPending} data-testid="totp-start">
          {t('account.totp.start')}
        </Button>
      </Form>
    </>
  );
}

function ScanStep({ setup, onEnabled }: { setup: SetupData; onEnabled: (codes: string[]) => void }) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const { message } = App.useApp();
  const { setUser } = useAuth();
  const enable = useMutation({
    mutationFn: (code: string) => apiCall(apiRoutes.auth.twoFactorEnable, { body: { code } }),
    onSuccess: (result) => {
      setUser(result.user);
      void message.success(t('account.totp.enabledSuccess'));
      onEnabled(result.recoveryCodes);
    },
  });
  return (
    <>
      <Typography.Title level={5} style={{ marginTop: 0 }}>
        {t('account.totp.scanTitle')}
      </Typography.Title>
      <Typography.Paragraph type="secondary">{t('account.totp.scanHint')}</Typography.Paragraph>
      <Flex vertical align="center" gap={12} style={{ marginBottom: 16 }}>
        <img
          src={setup.qrCodeDataUrl}
          alt={t('account.totp.qrAlt')}
          width={192}
          height={192}
          style={{
            background: '#fff',
            padding: 8,
            borderRadius: token.borderRadiusLG,
            border: `1px solid ${token.colorBorder}`,
          }}
        />
        <Flex vertical align="center" gap={4} style={{ maxWidth: '100%' }}>
          <Typography.Text type="secondary">{t('account.totp.secretLabel')}</Typography.Text>
          <Flex align="center" gap={8} wrap justify="center">
            <Typography.Text code className="bx-mono" style={{ fontSize: 15, wordBreak: 'break-all' }}>
              <span data-testid="totp-secret">{setup.secret}</span>
            </Typography.Text>
            <CopyButton text={setup.secret} size="small" />
          </Flex>
        </Flex>
      </Flex>
      {enable.isError ? (
        <Alert type="error" showIcon title={errorText(t, enable.error)} style={{ marginBottom: 16 }} />
      ) : null}
      <Form<{ code: string }>
        layout="vertical"
        requiredMark={false}
        onFinish={({ code }) => enable.mutate(code.trim())}
      >
        <Form.Item
          name="code"
          label={t('account.totp.code')}
          extra={t('account.totp.codeHint')}
          rules={[
            { required: true, message: t('auth.codeRequired') },
            { pattern: /^\s*\d{6}\s*$/, message: t('account.totp.codePlaceholder') },
          ]}
        >
          <Input
            autoFocus
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={10}
            placeholder={t('account.totp.codePlaceholder')}
            className="bx-mono"
            data-testid="totp-code"
          />
        </Form.Item>
        <Button
          type="primary"
          htmlType="submit"
          block
          loading={enable.isPending}
          data-testid="totp-enable-submit"
        >
          {t('account.totp.enable')}
        </Button>
      </Form>
    </>
  );
}

function CodesStep({ codes, username, onDone }: { codes: string[]; username: string; onDone: () => void }) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const allCodes = codes.join('\n');
  const download = () => {
    const text = `${t('account.totp.recoveryFileHeader', { username })}\n\n${allCodes}\n`;
    saveBlob(
      new Blob([text], { type: 'text/plain;charset=utf-8' }),
      `backupx-recovery-codes-${username}.txt`,
    );
  };
  return (
    <>
      <Typography.Title level={5} style={{ marginTop: 0 }}>
        {t('account.totp.recoveryTitle')}
      </Typography.Title>
      <Alert type="warning" showIcon title={t('account.totp.recoveryWarning')} style={{ marginBottom: 16 }} />
      <div
        data-testid="recovery-codes"
        style={{
          display: 'grid',
          gridTemplateColumns: 'repeat(auto-fill, minmax(210px, 1fr))',
          gap: 8,
          padding: 16,
          marginBottom: 16,
          borderRadius: token.borderRadiusLG,
          background: token.colorFillQuaternary,
          border: `1px solid ${token.colorBorderSecondary}`,
        }}
      >
        {codes.map((code) => (
          <span
            key={code}
            data-testid="recovery-code"
            className="bx-mono"
            style={{ fontSize: 15, textAlign: 'center' }}
          >
            {code}
          </span>
        ))}
      </div>
      <Flex gap={8} wrap style={{ marginBottom: 16 }}>
        <CopyButton text={allCodes} label={t('account.totp.copyAll')} />
        <Button icon={<DownloadOutlined />} onClick={download}>
          {t('account.totp.download')}
        </Button>
      </Flex>
      <Button type="primary" block onClick={onDone} data-testid="totp-done">
        {t('account.totp.done')}
      </Button>
    </>
  );
}

function StatusLine() {
  const { t } = useTranslation();
  const user = useCurrentUser();
  const low = user.twoFactorEnabled && user.twoFactorRecoveryCodesRemaining < LOW_RECOVERY_CODES;
  return (
    <Descriptions
      size="small"
      column={1}
      bordered
      style={{ marginBottom: 16 }}
      items={[
        {
          key: 'status',
          label: t('account.totp.statusLabel'),
          children: user.twoFactorEnabled ? (
            <Tag color="success">{t('account.totp.statusEnabled')}</Tag>
          ) : (
            <Tag>{t('account.totp.statusDisabled')}</Tag>
          ),
        },
        ...(user.twoFactorEnabled
          ? [
              {
                key: 'remaining',
                label: t('account.totp.remaining'),
                children: (
                  <Typography.Text type={low ? 'warning' : undefined} strong data-testid="recovery-remaining">
                    {user.twoFactorRecoveryCodesRemaining}
                  </Typography.Text>
                ),
              },
            ]
          : []),
      ]}
    />
  );
}

function OverviewStep({ onRegenerate, onDisable }: { onRegenerate: () => void; onDisable: () => void }) {
  const { t } = useTranslation();
  const user = useCurrentUser();
  const low = user.twoFactorRecoveryCodesRemaining < LOW_RECOVERY_CODES;
  return (
    <>
      <Typography.Paragraph type="secondary">{t('account.totp.intro')}</Typography.Paragraph>
      <StatusLine />
      {low ? (
        <Alert type="warning" showIcon title={t('account.totp.remainingLow')} style={{ marginBottom: 16 }} />
      ) : null}
      <Flex gap={8} wrap>
        <Button onClick={onRegenerate} data-testid="totp-regenerate">
          {t('account.totp.regenerate')}
        </Button>
        <Button danger onClick={onDisable} data-testid="totp-disable">
          {t('account.totp.disable')}
        </Button>
      </Flex>
    </>
  );
}

interface ConfirmValues {
  currentPassword: string;
  code: string;
}

function ConfirmStep({
  action,
  onBack,
  onRegenerated,
  onDisabled,
}: {
  action: 'regenerate' | 'disable';
  onBack: () => void;
  onRegenerated: (codes: string[]) => void;
  onDisabled: () => void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const { setUser } = useAuth();
  const confirm = useMutation({
    mutationFn: async (values: ConfirmValues) => {
      const body = { currentPassword: values.currentPassword, code: values.code.trim() };
      if (action === 'regenerate') {
        const result = await apiCall(apiRoutes.auth.twoFactorRegenerate, { body });
        setUser(result.user);
        void message.success(t('account.totp.regenerated'));
        onRegenerated(result.recoveryCodes);
      } else {
        const updated = await apiCall(apiRoutes.auth.twoFactorDisable, { body });
        setUser(updated);
        void message.success(t('account.totp.disabledSuccess'));
        onDisabled();
      }
    },
  });
  return (
    <>
      <Typography.Title level={5} style={{ marginTop: 0 }}>
        {action === 'regenerate' ? t('account.totp.regenerate') : t('account.totp.disable')}
      </Typography.Title>
      <Alert
        type={action === 'regenerate' ? 'info' : 'warning'}
        showIcon
        title={action === 'regenerate' ? t('account.totp.regenerateHint') : t('account.totp.disableHint')}
        style={{ marginBottom: 16 }}
      />
      {confirm.isError ? (
        <Alert type="error" showIcon title={errorText(t, confirm.error)} style={{ marginBottom: 16 }} />
      ) : null}
      <Form<ConfirmValues>
        layout="vertical"
        requiredMark={false}
        onFinish={(values) => confirm.mutate(values)}
      >
        <Form.Item
          name="currentPassword"
          label={t('account.totp.currentPassword')}
          rules={[{ required: true, message: t('auth.passwordRequired') }]}
        >
          <Input.Password autoFocus autoComplete="current-password" data-testid="totp-confirm-password" />
        </Form.Item>
        <Form.Item
          name="code"
          label={t('account.totp.confirmCode')}
          rules={[
            { required: true, message: t('auth.codeRequired') },
            { min: 6, max: 32, message: t('auth.codeRequired') },
          ]}
        >
          <Input
            autoComplete="one-time-code"
            placeholder={t('account.totp.confirmCodePlaceholder')}
            className="bx-mono"
            data-testid="totp-confirm-code"
          />
        </Form.Item>
        <Flex gap={8} justify="flex-end">
          <Button onClick={onBack}>{t('account.totp.back')}</Button>
          <Button
            type="primary"
            danger={action === 'disable'}
            htmlType="submit"
            loading={confirm.isPending}
            data-testid={action === 'regenerate' ? 'totp-regenerate-submit' : 'totp-disable-submit'}
          >
            {action === 'regenerate' ? t('account.totp.regenerate') : t('account.totp.disable')}
          </Button>
        </Flex>
      </Form>
    </>
  );
}
