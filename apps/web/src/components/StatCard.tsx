import type { ReactNode } from 'react';
import { Card, Flex, Skeleton, Typography, theme } from 'antd';

interface StatCardProps {
  title: ReactNode;
  value: ReactNode;
  icon: ReactNode;
  /** Accent colour of the icon badge. */
  color: string;
  footer?: ReactNode;
  loading?: boolean;
}

/** A summary number with an icon badge, used at the top of list pages and on the dashboard. */
export function StatCard({ title, value, icon, color, footer, loading }: StatCardProps) {
  const { token } = theme.useToken();
  return (
    <Card style={{ height: '100%' }} styles={{ body: { padding: 20 } }}>
      <Flex gap={16} align="center">
        <Flex
          align="center"
          justify="center"
          style={{
            width: 48,
            height: 48,
            flex: '0 0 48px',
            borderRadius: token.borderRadiusLG,
            background: `color-mix(in srgb, ${color} 14%, transparent)`,
            color,
            fontSize: 22,
          }}
        >
          {icon}
        </Flex>
        <div style={{ minWidth: 0, flex: 1 }}>
          <Typography.Text type="secondary" style={{ fontSize: 13 }}>
            {title}
          </Typography.Text>
          {loading ? (
            <Skeleton.Input active size="small" style={{ display: 'block', marginTop: 4 }} />
          ) : (
            <div
              style={{
                fontSize: 24,
                fontWeight: 600,
                lineHeight: 1.3,
                color: token.colorTextHeading,
                overflow: 'hidden',
                textOverflow: 'ellipsis',
                whiteSpace: 'nowrap',
              }}
            >
              {value}
            </div>
          )}
          {footer ? (
            <div style={{ fontSize: 12, color: token.colorTextSecondary, overflowWrap: 'anywhere' }}>
              {footer}
            </div>
          ) : null}
        </div>
      </Flex>
    </Card>
  );
}
