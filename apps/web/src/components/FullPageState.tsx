import type { ReactNode } from 'react';
import { Flex, Result, Spin } from 'antd';
import { useTranslation } from 'react-i18next';

/** Centered spinner while the console boots or restores the session. */
export function FullPageSpin() {
  const { t } = useTranslation();
  return (
    <Flex align="center" justify="center" style={{ minHeight: '100vh' }}>
      <Spin size="large" description={t('common.loading')} />
    </Flex>
  );
}

/** Centered error with actions (retry, sign in again). */
export function FullPageError({
  title,
  description,
  actions,
}: {
  title: ReactNode;
  description: ReactNode;
  actions: ReactNode;
}) {
  return (
    <Flex align="center" justify="center" style={{ minHeight: '100vh', padding: 24 }}>
      <Result status="warning" title={title} subTitle={description} extra={actions} />
    </Flex>
  );
}
