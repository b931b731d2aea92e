import { Button, Result } from 'antd';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';

/** 403 page for routes the role may not open. */
export function ForbiddenPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  return (
    <div data-testid="forbidden">
      <Result
        status="403"
        title={t('forbidden.title')}
        subTitle={t('forbidden.subtitle')}
        extra={
          <Button type="primary" onClick={() => void navigate('/dashboard')}>
            {t('common.backToDashboard')}
          </Button>
        }
      />
    </div>
  );
}
