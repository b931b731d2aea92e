import type { CSSProperties } from 'react';
import { Alert, Button } from 'antd';
import { useTranslation } from 'react-i18next';
import { errorText } from '../lib/i18n-helpers.ts';

interface LoadErrorProps {
  error: unknown;
  /** Offers a retry button when given. */
  onRetry?: () => void;
  style?: CSSProperties;
}

/** The one way a page says that its data could not be loaded. */
export function LoadError({ error, onRetry, style }: LoadErrorProps) {
  const { t } = useTranslation();
  return (
    <Alert
      type="error"
      showIcon
      title={t('common.loadFailed')}
      description={errorText(t, error)}
      action={
        onRetry ? (
          <Button size="small" onClick={onRetry}>
            {t('common.retry')}
          </Button>
        ) : undefined
      }
      style={style}
    />
  );
}
