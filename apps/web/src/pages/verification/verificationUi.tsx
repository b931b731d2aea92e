/** Tags and the drill button shared by the verification page, the record drawer and the tasks page. */
import type { ReactNode } from 'react';
import { Button, Dropdown, Tag, Tooltip } from 'antd';
import type { ButtonProps } from 'antd';
import {
  CheckCircleOutlined,
  CloseCircleOutlined,
  DownOutlined,
  ExperimentOutlined,
  SyncOutlined,
  ThunderboltOutlined,
} from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import type { VerificationSummary, VerifyMode } from '@backupx/contract';

type VerifyStatus = VerificationSummary['status'];

const statusColors: Record<VerifyStatus, string> = {
  running: 'processing',
  success: 'success',
  failed: 'error',
};
const statusIcons: Record<VerifyStatus, ReactNode> = {
  running: <SyncOutlined spin />,
  success: <CheckCircleOutlined />,
  failed: <CloseCircleOutlined />,
};

/** Status of a drill: running, passed, failed. */
export function VerifyStatusTag({ status, testId }: { status: VerifyStatus; testId?: string }) {
  const { t } = useTranslation();
  return (
    <Tag
      color={statusColors[status]}
      icon={statusIcons[status]}
      data-testid={testId}
      data-status={status}
      style={{ marginInlineEnd: 0 }}
    >
      {t(`verification.status.${status}`)}
    </Tag>
  );
}

/** Quick (reads) or deep (restores). */
export function VerifyModeTag({ mode, testId }: { mode: VerifyMode; testId?: string }) {
  const { t } = useTranslation();
  return (
    <Tooltip title={mode === 'deep' ? t('verification.deepDrillHelp') : t('verification.quickDrillHelp')}>
      <Tag
        color={mode === 'deep' ? 'purple' : 'cyan'}
        icon={mode === 'deep' ? <ExperimentOutlined /> : <ThunderboltOutlined />}
        data-testid={testId}
        data-mode={mode}
        style={{ marginInlineEnd: 0 }}
      >
        {t(`verification.mode.${mode}`)}
      </Tag>
    </Tooltip>
  );
}

interface DrillMenuButtonProps {
  /** Called with the chosen mode. */
  onDrill: (mode: VerifyMode) => void;
  loading?: boolean;
  disabled?: boolean;
  /** `icon`: a small text button with a tooltip (table rows); `button`: a labelled button. */
  variant?: 'icon' | 'button';
  label?: string;
  size?: ButtonProps['size'];
  testId: string;
}

/** A button opening the choice quick / deep drill; items are `<testId>-quick` and `<testId>-deep`. */
export function DrillMenuButton({
  onDrill,
  loading,
  disabled,
  variant = 'button',
  label,
  size,
  testId,
}: DrillMenuButtonProps) {
  const { t } = useTranslation();
  const text = label ?? t('verification.drillNow');
  const items = (['quick', 'deep'] as const).map((mode) => ({
    key: mode,
    icon: mode === 'deep' ? <ExperimentOutlined /> : <ThunderboltOutlined />,
    label: (
      <span data-testid={`${testId}-${mode}`} style={{ display: 'inline-flex', flexDirection: 'column' }}>
        <span>{mode === 'deep' ? t('verification.deepDrill') : t('verification.quickDrill')}</span>
        <span style={{ fontSize: 12, opacity: 0.65, maxWidth: 260, whiteSpace: 'normal' }}>
          {mode === 'deep' ? t('verification.deepDrillHelp') : t('verification.quickDrillHelp')}
        </span>
      </span>
    ),
  }));
  const button =
    variant === 'icon' ? (
      <Button
        type="text"
        size={size ?? 'small'}
        icon={<ExperimentOutlined />}
        aria-label={text}
        loading={loading}
        disabled={disabled}
        data-testid={testId}
      />
    ) : (
      <Button
        size={size}
        icon={<ExperimentOutlined />}
        loading={loading}
        disabled={disabled}
        data-testid={testId}
      >
        {text} <DownOutlined style={{ fontSize: 10 }} />
      </Button>
    );
  return (
    <Dropdown
      trigger={['click']}
      disabled={disabled}
      menu={{ items, onClick: ({ key }) => onDrill(key === 'deep' ? 'deep' : 'quick') }}
    >
      {variant === 'icon' ? <Tooltip title={text}>{button}</Tooltip> : button}
    </Dropdown>
  );
}
