import { Flex, Typography, theme } from 'antd';

export interface BarListDatum {
  key: string;
  label: string;
  value: number;
  color: string;
}

/** Labelled horizontal bars scaled to the largest value (a compact distribution). */
export function BarList({
  data,
  formatValue = String,
  testId,
}: {
  data: readonly BarListDatum[];
  formatValue?: (value: number) => string;
  testId?: string;
}) {
  const { token } = theme.useToken();
  const max = Math.max(0, ...data.map((datum) => datum.value));
  return (
    <Flex vertical gap={12} data-testid={testId}>
      {data.map((datum) => (
        <div key={datum.key} data-testid={testId ? `${testId}-${datum.key}` : undefined}>
          <Flex justify="space-between" gap={8} style={{ marginBottom: 4 }}>
            <Typography.Text ellipsis style={{ minWidth: 0 }}>
              {datum.label}
            </Typography.Text>
            <Typography.Text strong style={{ fontVariantNumeric: 'tabular-nums' }}>
              {formatValue(datum.value)}
            </Typography.Text>
          </Flex>
          <div
            style={{ height: 8, borderRadius: 4, background: token.colorFillSecondary, overflow: 'hidden' }}
            role="presentation"
          >
            <div
              style={{
                width: `${String(max > 0 ? Math.max(2, (datum.value / max) * 100) : 0)}%`,
                height: '100%',
                borderRadius: 4,
                background: datum.color,
                transition: 'width 0.3s',
              }}
            />
          </div>
        </div>
      ))}
    </Flex>
  );
}
