/**
 * Cron editor: free input plus the SPEC §5.1 presets, with a live check through
 * `POST /api/backup/tasks/cron/preview` that shows the next five fire times in the scheduler's
 * time zone, or why the expression is invalid. Empty means "manual runs only" when allowed.
 */
import { useEffect, useState } from 'react';
import { Button, Flex, Input, Typography, theme } from 'antd';
import {
  CalendarOutlined,
  CheckCircleFilled,
  CloseCircleFilled,
  PauseCircleOutlined,
} from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { formatDateTime, formatRelativeTime } from '../../lib/format.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { cronPresets } from './taskForm.ts';

const presetKeys = {
  '0 2 * * *': 'dailyAt2',
  '0 0 * * *': 'midnight',
  '0 */6 * * *': 'every6h',
  '0 */12 * * *': 'every12h',
  '0 3 * * 0': 'sundayAt3',
  '0 2 1 * *': 'monthlyAt2',
  '*/30 * * * *': 'every30m',
  '0 * * * *': 'hourly',
} as const satisfies Record<(typeof cronPresets)[number], string>;

/** Waits until `value` has been stable for `ms`. */
function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

const normalise = (value: string) => value.trim().split(/\s+/).join(' ');

interface CronInputProps {
  value?: string;
  onChange?: (value: string) => void;
  /** Offer "manual only" (empty expression). */
  allowEmpty?: boolean;
  testId?: string;
}

export function CronInput({ value = '', onChange, allowEmpty = true, testId = 'task-cron' }: CronInputProps) {
  const { t, i18n } = useTranslation();
  const { token } = theme.useToken();
  const expression = useDebounced(normalise(value), 400);

  const preview = useQuery({
    queryKey: ['tasks', 'cron-preview', expression],
    queryFn: ({ signal }) => apiCall(apiRoutes.tasks.cronPreview, { body: { cronExpr: expression }, signal }),
    enabled: expression !== '',
    staleTime: 30_000,
  });
  const now = preview.dataUpdatedAt;
  const current = normalise(value);

  const result = (() => {
    if (current === '') {
      return allowEmpty ? (
        <Typography.Text type="secondary" data-testid={`${testId}-manual`}>
          <PauseCircleOutlined style={{ marginInlineEnd: 6 }} />
          {t('tasks.cron.manualHelp')}
        </Typography.Text>
      ) : null;
    }
    if (preview.isError)
      return <Typography.Text type="danger">{errorText(t, preview.error)}</Typography.Text>;
    if (!preview.data || current !== expression) {
      return <Typography.Text type="secondary">{t('tasks.cron.checking')}</Typography.Text>;
    }
    const data = preview.data;
    if (!data.valid) {
      return (
        <Typography.Text type="danger" data-testid={`${testId}-error`}>
          <CloseCircleFilled style={{ marginInlineEnd: 6 }} />
          {t('tasks.cron.invalid', { error: data.error ?? '' })}
        </Typography.Text>
      );
    }
    return (
      <div data-testid={`${testId}-preview`}>
        <Typography.Text type="success">
          <CheckCircleFilled style={{ marginInlineEnd: 6 }} />
          {t('tasks.cron.nextRuns', { zone: data.timeZone })}
        </Typography.Text>
        <ol style={{ margin: '4px 0 0', paddingInlineStart: 22, color: token.colorTextSecondary }}>
          {data.nextRuns.map((run) => (
            <li key={run} className="bx-mono" style={{ fontSize: 12 }}>
              {formatDateTime(run, data.timeZone)}
              <Typography.Text type="secondary" style={{ fontSize: 12, marginInlineStart: 8 }}>
                {formatRelativeTime(run, now, i18n.language)}
              </Typography.Text>
            </li>
          ))}
        </ol>
      </div>
    );
  })();

  const chip = (label: string, expr: string, key: string) => {
    const active = current === expr;
    return (
      <Button
        key={key}
        size="small"
        type={active ? 'primary' : 'default'}
        ghost={active}
        onClick={() => onChange?.(expr)}
        data-testid={`${testId}-preset-${key}`}
      >
        {label}
      </Button>
    );
  };

  return (
    <div>
      <Input
        value={value}
        onChange={(event) => onChange?.(event.target.value)}
        placeholder={allowEmpty ? t('tasks.cron.placeholderManual') : '0 2 * * *'}
        prefix={<CalendarOutlined style={{ color: token.colorTextTertiary }} />}
        allowClear
        className="bx-mono"
        data-testid={testId}
      />
      <Flex gap={6} wrap style={{ marginTop: 8 }}>
        {allowEmpty ? chip(t('tasks.cron.manual'), '', 'manual') : null}
        {cronPresets.map((preset) =>
          chip(t(`tasks.cron.presets.${presetKeys[preset]}`), preset, presetKeys[preset]),
        )}
      </Flex>
      <div
        style={{
          marginTop: 8,
          padding: '8px 12px',
          borderRadius: token.borderRadius,
          background: token.colorFillQuaternary,
          fontSize: 13,
        }}
      >
        {result}
      </div>
    </div>
  );
}
