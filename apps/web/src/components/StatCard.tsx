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
  /** `tile`: smaller, on a tinted background instead of a card of its own (inside another card). */
  variant?: 'card' | 'tile';
}

/** A summary number with an icon badge, used at the top of list pages and on the dashboard. */
export function StatCard({ title, value, icon, color, footer, loading, variant = 'card' }: StatCardProps) {
  const { token } = theme.useToken();
  const tile = variant === 'tile';
  const badge = tile ? 40 : 48;
  const content = (
    <Flex gap={tile ? 12 : 16} align="center">
      <Flex
        align="center"
        justify="center"
        style={{
          width: badge,
          height: badge,
          flex: `0 0 ${String(badge)}px`,
          borderRadius: tile ? token.borderRadius : token.borderRadiusLG,
          background: `color-mix(in srgb, ${color} 14%, transparent)`,
          color,
          fontSize: tile ? 18 : 22,
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
              fontSize: tile ? 20 : 24,
              fontWeight: 600,
              lineHeight: tile ? 1.35 : 1.3,
              color: token.colorTextHeading,
              overflow: 'hidden',
              textOverflow: 'ellipsis',
              whiteSpace: 'nowrap',
            }}
          >
            {value}
          </div>
        )}
        {footer && !(tile && loading) ? (
          <div style={{ fontSize: 12, color: token.colorTextSecondary, overflowWrap: 'anywhere' }}>
            {footer}
          </div>
        ) : null}
      </div>
    </Flex>
  );
  if (tile)
    return (
      <div
        style={{
          height: '100%',
          padding: '12px 16px',
          borderRadius: token.borderRadiusLG,
          background: token.colorFillQuaternary,
        }}
      >
        {content}
      </div>
    );
  return (
    <Card style={{ height: '100%' }} styles={{ body: { padding: 20 } }}>
      {content}
    </Card>
  );
}
