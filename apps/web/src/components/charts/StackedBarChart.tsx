import { useState } from 'react';
import type { ReactNode } from 'react';
import { Flex, Typography, theme } from 'antd';
import { niceAxis } from './chartMath.ts';
import { useElementWidth } from './useElementWidth.ts';

export interface BarSeries {
  key: string;
  label: string;
  color: string;
}

export interface StackedBarDatum {
  key: string;
  /** Axis label (shown for a subset of bars when they are dense). */
  label: string;
  /** Value per series key. */
  values: Record<string, number>;
}

interface StackedBarChartProps {
  data: readonly StackedBarDatum[];
  series: readonly BarSeries[];
  height?: number;
  /** Heading of the tooltip of a bar. */
  tooltipTitle?: (datum: StackedBarDatum) => ReactNode;
  ariaLabel: string;
  testId?: string;
}

const PADDING = { top: 12, right: 8, bottom: 28, left: 36 };

/** Bars of stacked series per category (e.g. successful and failed runs per day), as SVG. */
export function StackedBarChart({
  data,
  series,
  height = 240,
  tooltipTitle,
  ariaLabel,
  testId,
}: StackedBarChartProps) {
  const { token } = theme.useToken();
  const { ref, width } = useElementWidth<HTMLDivElement>(600);
  const [hovered, setHovered] = useState<number | null>(null);

  const totals = data.map((datum) => series.reduce((sum, item) => sum + (datum.values[item.key] ?? 0), 0));
  const axis = niceAxis(Math.max(0, ...totals));
  const plotWidth = Math.max(0, width - PADDING.left - PADDING.right);
  const plotHeight = Math.max(0, height - PADDING.top - PADDING.bottom);
  const slot = data.length > 0 ? plotWidth / data.length : plotWidth;
  const barWidth = Math.max(2, Math.min(28, slot * 0.62));
  const y = (value: number) => PADDING.top + plotHeight - (value / axis.max) * plotHeight;
  // One axis label per ~56 px (at least two), whatever the number of bars.
  const labelEvery = Math.max(1, Math.ceil(data.length / Math.max(2, Math.floor(plotWidth / 56))));
  const hoveredDatum = hovered === null ? undefined : data[hovered];

  return (
    <div>
      <div ref={ref} style={{ position: 'relative', width: '100%' }} data-testid={testId}>
        <svg
          width={width}
          height={height}
          role="img"
          aria-label={ariaLabel}
          style={{ display: 'block', overflow: 'visible' }}
          onMouseLeave={() => setHovered(null)}
        >
          {axis.ticks.map((tick) => (
            <g key={tick}>
              <line
                x1={PADDING.left}
                x2={PADDING.left + plotWidth}
                y1={y(tick)}
                y2={y(tick)}
                stroke={token.colorSplit}
                strokeDasharray={tick === 0 ? undefined : '3 3'}
              />
              <text
                x={PADDING.left - 8}
                y={y(tick)}
                dy="0.32em"
                textAnchor="end"
                fontSize={11}
                fill={token.colorTextTertiary}
              >
                {tick}
              </text>
            </g>
          ))}
          {data.map((datum, index) => {
            const x = PADDING.left + index * slot + (slot - barWidth) / 2;
            let base = 0;
            return (
              <g
                key={datum.key}
                data-testid={testId ? `${testId}-bar-${datum.key}` : undefined}
                onMouseEnter={() => setHovered(index)}
                style={{ cursor: 'default' }}
              >
                {/* A full-height transparent target makes thin or empty days easy to hover. */}
                <rect
                  x={PADDING.left + index * slot}
                  y={PADDING.top}
                  width={slot}
                  height={plotHeight}
                  fill={hovered === index ? token.colorFillSecondary : 'transparent'}
                />
                {series.map((item) => {
                  const value = datum.values[item.key] ?? 0;
                  if (value <= 0) return null;
                  const top = y(base + value);
                  const bottom = y(base);
                  base += value;
                  return (
                    <rect
                      key={item.key}
                      x={x}
                      y={top}
                      width={barWidth}
                      height={Math.max(0, bottom - top)}
                      fill={item.color}
                      rx={Math.min(3, barWidth / 4)}
                    />
                  );
                })}
                {index % labelEvery === 0 ? (
                  <text
                    x={PADDING.left + index * slot + slot / 2}
                    y={height - 8}
                    textAnchor="middle"
                    fontSize={11}
                    fill={token.colorTextTertiary}
                  >
                    {datum.label}
                  </text>
                ) : null}
              </g>
            );
          })}
        </svg>
        {hoveredDatum && hovered !== null ? (
          <div
            role="tooltip"
            data-testid={testId ? `${testId}-tooltip` : undefined}
            style={{
              position: 'absolute',
              top: 0,
              left: Math.min(
                Math.max(0, PADDING.left + hovered * slot + slot / 2 - 80),
                Math.max(0, width - 160),
              ),
              width: 160,
              pointerEvents: 'none',
              padding: '8px 10px',
              borderRadius: token.borderRadius,
              background: token.colorBgElevated,
              boxShadow: token.boxShadowSecondary,
              fontSize: 12,
              zIndex: 1,
            }}
          >
            <div style={{ fontWeight: 600, marginBottom: 4 }}>
              {tooltipTitle ? tooltipTitle(hoveredDatum) : hoveredDatum.label}
            </div>
            {series.map((item) => (
              <Flex key={item.key} justify="space-between" gap={8}>
                <span>
                  <Swatch color={item.color} />
                  {item.label}
                </span>
                <span style={{ fontVariantNumeric: 'tabular-nums' }}>
                  {hoveredDatum.values[item.key] ?? 0}
                </span>
              </Flex>
            ))}
          </div>
        ) : null}
      </div>
      <Flex gap={16} justify="center" wrap style={{ marginTop: 8 }}>
        {series.map((item) => (
          <Typography.Text key={item.key} type="secondary" style={{ fontSize: 12 }}>
            <Swatch color={item.color} />
            {item.label}
          </Typography.Text>
        ))}
      </Flex>
    </div>
  );
}

/** The coloured square of a legend entry. */
export function Swatch({ color }: { color: string }) {
  return (
    <span
      aria-hidden
      style={{
        display: 'inline-block',
        width: 10,
        height: 10,
        borderRadius: 2,
        background: color,
        marginInlineEnd: 6,
        verticalAlign: 'baseline',
      }}
    />
  );
}
