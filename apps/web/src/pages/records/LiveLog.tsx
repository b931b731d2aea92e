/**
 * Live log of a backup, restore or verification run: while it runs, the SSE log stream is read with fetch and
 * the session token (reconnecting with back-off when it drops), events are de-duplicated by
 * sequence, and progress events drive one progress bar per storage target. Once the run has
 * ended the stored log text is shown.
 */
import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'react';
import { Badge, Empty, Flex, Progress, Spin, Typography, theme } from 'antd';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { LogEvent } from '@backupx/contract';
import { isApiError, openApiStream } from '../../api/client.ts';
import { formatBytes } from '../../lib/format.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { createSseParser, reconnectDelayMs } from '../../events/sseParser.ts';
import { applyLogEvents, emptyLiveLog, parseLogContent, parseLogEvent } from './logStream.ts';
import type { LiveLogState, LogLine } from './logStream.ts';
import { formatSpeed } from './recordUi.tsx';

export type LiveLogKind = 'backup' | 'restore' | 'verify';

type Connection = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed';

type Action = { type: 'events'; events: readonly LogEvent[] } | { type: 'reset' };

/** Reconnects of a live log: 1 s, 2 s, 4 s … up to 15 s (a run's log is short-lived). */
const LOG_RECONNECT_MIN_MS = 1_000;
const LOG_RECONNECT_MAX_MS = 15_000;
const reducer = (state: LiveLogState, action: Action): LiveLogState =>
  action.type === 'reset' ? emptyLiveLog : applyLogEvents(state, action.events);

const streamRoute = (kind: LiveLogKind) => {
  switch (kind) {
    case 'backup':
      return apiRoutes.records.logStream;
    case 'restore':
      return apiRoutes.restores.logStream;
    case 'verify':
      return apiRoutes.verification.logStream;
  }
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      window.clearTimeout(timer);
      resolve();
    });
  });

/** Follows the log stream of a running record; calls `onCompleted` once its `completed` event arrives. */
function useLogStream(
  kind: LiveLogKind,
  id: number,
  running: boolean,
  seed: readonly LogEvent[],
  onCompleted: () => void,
) {
  const [state, dispatch] = useReducer(reducer, seed, (events) => applyLogEvents(emptyLiveLog, events));
  const [connection, setConnection] = useState<Connection>(running ? 'connecting' : 'ended');
  const [failure, setFailure] = useState<unknown>(null);
  const completedRef = useRef(onCompleted);
  useLayoutEffect(() => {
    completedRef.current = onCompleted;
  });

  useEffect(() => {
    if (seed.length > 0) dispatch({ type: 'events', events: seed });
  }, [seed]);

  useEffect(() => {
    if (!running) return;
    const controller = new AbortController();
    const { signal } = controller;
    // A function, so the compiler does not assume the flag keeps the value it had at the loop test.
    const aborted = () => signal.aborted;
    const follow = async () => {
      for (let attempt = 0; !aborted();) {
        let completed = false;
        try {
          const response = await openApiStream(streamRoute(kind), {
            params: { id },
            signal,
            accept: 'text/event-stream',
          });
          setConnection('live');
          setFailure(null);
          attempt = 0;
          const parser = createSseParser();
          const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
          while (reader && !completed) {
            const { done, value } = await reader.read();
            if (done) break;
            const events = parser
              .push(value)
              .flatMap((frame) =>
                frame.kind === 'event' && frame.message.event === 'log' ? [frame.message] : [],
              )
              .map((message) => parseLogEvent(message.data))
              .filter((event): event is LogEvent => event !== null);
            if (events.length === 0) continue;
            dispatch({ type: 'events', events });
            completed = events.some((event) => event.completed);
          }
          if (completed) {
            void reader?.cancel().catch(() => undefined);
            setConnection('ended');
            completedRef.current();
            return;
          }
        } catch (error) {
          if (aborted()) return;
          // An answer such as 404 or 403 will not change by retrying.
          if (isApiError(error) && error.status >= 400 && error.status < 500) {
            setFailure(error);
            setConnection('failed');
            return;
          }
        }
        if (aborted()) return;
        setConnection('reconnecting');
        await sleep(reconnectDelayMs(attempt, LOG_RECONNECT_MIN_MS, LOG_RECONNECT_MAX_MS), signal);
        attempt += 1;
      }
    };
    void follow();
    return () => controller.abort();
  }, [kind, id, running]);

  return { state, connection: running ? connection : ('ended' as const), failure };
}

const levelColor = (level: LogLine['level'], token: ReturnType<typeof theme.useToken>['token']) => {
  switch (level) {
    case 'warn':
      return token.colorWarningText;
    case 'error':
      return token.colorErrorText;
    case 'info':
      return token.colorText;
  }
};

interface LiveLogProps {
  kind: LiveLogKind;
  id: number;
  /** Status from the record detail. */
  status: string;
  logContent: string;
  /** The replay included in the detail while the run is in progress. */
  logEvents: readonly LogEvent[];
  /** Called when the stream reports the end of the run (refresh the detail). */
  onCompleted: () => void;
}

export function LiveLog({ kind, id, status, logContent, logEvents, onCompleted }: LiveLogProps) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const running = status === 'running';
  const { state, connection, failure } = useLogStream(kind, id, running, logEvents, onCompleted);
  const boxRef = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);

  const stored = running ? [] : parseLogContent(logContent);
  const lines = stored.length > 0 ? stored : state.lines;
  const progress = running ? Object.values(state.progress) : [];

  useLayoutEffect(() => {
    const box = boxRef.current;
    if (box && stickToBottom.current) box.scrollTop = box.scrollHeight;
  }, [lines.length]);

  const connectionBadge = (() => {
    switch (connection) {
      case 'connecting':
        return <Badge status="default" text={t('records.log.connecting')} />;
      case 'live':
        return <Badge status="processing" text={t('records.log.live')} />;
      case 'reconnecting':
        return <Badge status="warning" text={t('records.log.reconnecting')} />;
      case 'failed':
        return <Badge status="error" text={failure ? errorText(t, failure) : t('records.log.failed')} />;
      case 'ended':
        return null;
    }
  })();

  return (
    <div data-testid={`${kind}-live-log`} data-connection={connection}>
      <Flex justify="space-between" align="center" style={{ marginBottom: 8 }}>
        <Typography.Text strong>{t('records.log.title')}</Typography.Text>
        <span data-testid="live-log-connection">{running ? connectionBadge : null}</span>
      </Flex>
      {progress.map((item) => (
        <div key={item.targetName} data-testid="live-log-progress" style={{ marginBottom: 12 }}>
          {item.totalBytes > 0 ? (
            <Progress
              percent={Math.round(item.percent * 10) / 10}
              status={item.percent >= 100 ? 'success' : 'active'}
              format={(percent) => `${String(percent ?? 0)}%`}
            />
          ) : (
            <Flex align="center" gap={8} style={{ marginBottom: 2 }}>
              <Spin size="small" />
              <Typography.Text>{t('records.log.transferring')}</Typography.Text>
            </Flex>
          )}
          <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid="live-log-progress-text">
            {item.totalBytes > 0
              ? t('records.log.progressBytes', {
                  sent: formatBytes(item.bytesSent),
                  total: formatBytes(item.totalBytes),
                })
              : formatBytes(item.bytesSent)}
            {item.speedBps > 0 ? ` · ${formatSpeed(item.speedBps)}` : ''}
            {item.targetName ? ` · ${t('records.log.progressTarget', { target: item.targetName })}` : ''}
          </Typography.Text>
        </div>
      ))}
      <div
        ref={boxRef}
        data-testid="live-log-lines"
        className="bx-mono"
        onScroll={(event) => {
          const box = event.currentTarget;
          stickToBottom.current = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
        }}
        style={{
          maxHeight: 380,
          minHeight: 120,
          overflow: 'auto',
          padding: '10px 12px',
          borderRadius: token.borderRadiusLG,
          background: token.colorFillQuaternary,
          border: `1px solid ${token.colorBorderSecondary}`,
          fontSize: 12,
          lineHeight: 1.65,
        }}
      >
        {lines.length === 0 ? (
          <Empty
            image={Empty.PRESENTED_IMAGE_SIMPLE}
            description={running ? t('records.log.waiting') : t('records.log.empty')}
            style={{ margin: '12px 0' }}
          />
        ) : (
          lines.map((line) => (
            <div
              key={line.key}
              data-level={line.level}
              style={{
                color: levelColor(line.level, token),
                whiteSpace: 'pre-wrap',
                wordBreak: 'break-word',
              }}
            >
              {line.time ? (
                <span style={{ color: token.colorTextTertiary, marginInlineEnd: 8 }}>{line.time}</span>
              ) : null}
              {line.level === 'info' ? null : (
                <span style={{ fontWeight: 600, marginInlineEnd: 6 }}>
                  {line.level === 'warn' ? t('records.log.levelWarn') : t('records.log.levelError')}
                </span>
              )}
              {line.message}
            </div>
          ))
        )}
      </div>
    </div>
  );
}
