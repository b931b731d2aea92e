import type { ReactNode } from 'react';
import { Flex, Typography } from 'antd';

/** Title, one-line description and optional actions at the top of every page. */
export function PageHeader({
  title,
  description,
  extra,
}: {
  title: ReactNode;
  description: ReactNode;
  extra?: ReactNode;
}) {
  return (
    <Flex justify="space-between" align="flex-start" gap={16} wrap style={{ marginBottom: 24 }}>
      <div style={{ minWidth: 0 }}>
        <Typography.Title level={3} style={{ margin: 0 }}>
          {title}
        </Typography.Title>
        <Typography.Text type="secondary">{description}</Typography.Text>
      </div>
      {extra ? (
        <Flex gap={8} wrap>
          {extra}
        </Flex>
      ) : null}
    </Flex>
  );
}
