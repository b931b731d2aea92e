import { useState } from 'react';
import type { ReactNode } from 'react';
import { Flex, Typography, theme } from 'antd';
import { donutSlices, ringSegmentPath } from './chartMath.ts';
import { Swatch } from './StackedBarChart.tsx';

export interface DonutDatum {
  key: string;
  label: string;
  value: number;
  color: string;
}

interface DonutChartProps {
  data: readonly DonutDatum[];
  /** Text of a value in the legend and the centre (bytes, counts…). */
  formatValue: (value: number) => string;
  /** Caption under the total in the centre. */
  centerCaption: ReactNode;
  size?: number;
  ariaLabel: string;
  testId?: string;
}

/** A ring of proportional slices with the total in its centre and a legend beside it, as SVG. */
export function DonutChart({
  data,
  formatValue,
  centerCaption,
  size = 180,
  ariaLabel,
  testId,
}: DonutChartProps) {
  const { token } = theme.useToken();
  const [hovered, setHovered] = useState<string | null>(null);
  const slices = donutSlices(data.map((datum) => datum.value));
  const total = data.reduce((sum, datum) => sum + Math.max(0, datum.value), 0);
  const center = size / 2;
  const outer = size / 2 - 4;
  const inner = outer * 0.64;
  const focus = hovered === null ? undefined : data.find((datum) => datum.key === hovered);

  return (
    <Flex gap={24} align="center" wrap justify="center" data-testid={testId}>
      <svg width={size} height={size} role="img" aria-label={ariaLabel} style={{ flex: '0 0 auto' }}>
        <circle
          cx={center}
          cy={center}
          r={(outer + inner) / 2}
          fill="none"
          stroke={token.colorFillSecondary}
          strokeWidth={outer - inner}
        />
        {data.map((datum, index) => {
          const slice = slices[index];
          if (!slice || slice.fraction <= 0) return null;
          const active = hovered === datum.key;
          return (
            <path
              key={datum.key}
              d={ringSegmentPath(center, center, active ? outer + 3 : outer, inner, slice.start, slice.end)}
              fill={datum.color}
              stroke={token.colorBgContainer}
              strokeWidth={data.length > 1 ? 1.5 : 0}
              opacity={hovered === null || active ? 1 : 0.45}
              onMouseEnter={() => setHovered(datum.key)}
              onMouseLeave={() => setHovered(null)}
            >
              <title>{`${datum.label}: ${formatValue(datum.value)} (${(slice.fraction * 100).toFixed(1)}%)`}</title>
            </path>
          );
        })}
        <text
          x={center}
          y={center - 4}
          textAnchor="middle"
          fontSize={size > 160 ? 18 : 15}
          fontWeight={600}
          fill={token.colorTextHeading}
        >
          {formatValue(focus ? focus.value : total)}
        </text>
        <text x={center} y={center + 16} textAnchor="middle" fontSize={12} fill={token.colorTextTertiary}>
          {focus ? truncate(focus.label, 18) : centerCaption}
        </text>
      </svg>
      <Flex vertical gap={6} style={{ minWidth: 160, flex: '1 1 160px', maxWidth: 320 }}>
        {data.map((datum, index) => {
          const fraction = slices[index]?.fraction ?? 0;
          return (
            <Flex
              key={datum.key}
              justify="space-between"
              gap={12}
              onMouseEnter={() => setHovered(datum.key)}
              onMouseLeave={() => setHovered(null)}
              style={{
                padding: '2px 6px',
                borderRadius: token.borderRadiusSM,
                background: hovered === datum.key ? token.colorFillTertiary : undefined,
              }}
            >
              <Typography.Text ellipsis style={{ minWidth: 0, flex: 1 }} title={datum.label}>
                <Swatch color={datum.color} />
                {datum.label}
              </Typography.Text>
              <Typography.Text
                type="secondary"
                style={{ whiteSpace: 'nowrap', fontVariantNumeric: 'tabular-nums' }}
              >
                {formatValue(datum.value)} · {(fraction * 100).toFixed(fraction >= 0.1 ? 0 : 1)}%
              </Typography.Text>
            </Flex>
          );
        })}
      </Flex>
    </Flex>
  );
}

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
