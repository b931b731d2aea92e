import { Alert, Button, Modal, Typography } from 'antd';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { isApiError } from '../../api/client.ts';
import { CodeBlock } from '../../components/CodeBlock.tsx';
import { CopyButton } from '../../components/CopyButton.tsx';
import { errorText } from '../../lib/i18n-helpers.ts';

/**
 * The translated error plus the master's own message when it says more (NODE_HAS_TASKS names how
 * many tasks are bound, INSTALL_OPTIONS_INVALID which option is wrong).
 */
export function serverErrorDetail(t: TFunction, error: unknown): string {
  const text = errorText(t, error);
  if (!isApiError(error)) return text;
  const server = error.message.trim();
  return server === '' || server === text ? text : `${text} (${server})`;
}

/** One-time display of a node token: copy it now, it is never shown again. */
export function NodeTokenModal({
  title,
  token,
  advice,
  onClose,
}: {
  title: string;
  token: string;
  advice: string;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Modal
      open
      title={title}
      closable={false}
      keyboard={false}
      mask={{ closable: false }}
      width={600}
      footer={[
        <CopyButton key="copy" text={token} label={t('nodes.token.copy')} data-testid="node-token-copy" />,
        <Button key="close" type="primary" onClick={onClose} data-testid="node-token-close">
          {t('nodes.token.close')}
        </Button>,
      ]}
    >
      <Alert type="warning" showIcon title={t('nodes.token.onceWarning')} style={{ marginBottom: 16 }} />
      <CodeBlock value={token} testId="node-token" fontSize={14} style={{ marginBottom: 12 }} />
      <Typography.Paragraph type="secondary" style={{ fontSize: 13, marginBottom: 0 }}>
        {advice}
      </Typography.Paragraph>
    </Modal>
  );
}
