import { useEffect, useRef, useState } from 'react';
import { App, Button, Card, Result, Spin } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { paths } from '../../paths.ts';
import { ErrorDetail } from './ErrorDetail.tsx';
import { storageKeys } from './storageQueries.ts';

type CallbackState =
  | { kind: 'working' }
  | { kind: 'done'; name: string }
  | { kind: 'failed'; error: unknown }
  | { kind: 'denied'; reason: string };

/** States already sent: a `code` is single-use, so a re-render must not post it twice. */
const completedStates = new Set<string>();

/** Where Google sends the browser back: finishes the OAuth flow, then returns to the list. */
export function GoogleDriveCallbackPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [params] = useSearchParams();
  const state = params.get('state') ?? '';
  const code = params.get('code') ?? '';
  const googleError = params.get('error');
  const [status, setStatus] = useState<CallbackState>(() =>
    googleError !== null
      ? { kind: 'denied', reason: googleError }
      : state === '' || code === ''
        ? { kind: 'denied', reason: 'missing_code' }
        : { kind: 'working' },
  );
  const started = useRef(false);

  useEffect(() => {
    if (started.current || googleError !== null || state === '' || code === '' || completedStates.has(state))
      return;
    started.current = true;
    completedStates.add(state);
    apiCall(apiRoutes.storageTargets.googleDriveComplete, { body: { state, code }, timeoutMs: 30_000 })
      .then((target) => {
        setStatus({ kind: 'done', name: target.name });
        void queryClient.invalidateQueries({ queryKey: storageKeys.all });
        void message.success(t('storage.googleConnected', { name: target.name }));
        void navigate(paths.storageTargets, { replace: true });
      })
      .catch((error: unknown) => setStatus({ kind: 'failed', error }));
  }, [state, code, googleError, message, navigate, queryClient, t]);

  const back = (
    <Button
      type="primary"
      onClick={() => void navigate(paths.storageTargets, { replace: true })}
      data-testid="google-callback-back"
    >
      {t('storage.backToList')}
    </Button>
  );

  return (
    <Card data-testid="google-callback" data-state={status.kind}>
      {status.kind === 'working' ? (
        <Result icon={<Spin size="large" />} title={t('storage.googleCompleting')} />
      ) : status.kind === 'done' ? (
        <Result status="success" title={t('storage.googleConnected', { name: status.name })} extra={back} />
      ) : status.kind === 'failed' ? (
        <Result
          status="error"
          title={t('storage.googleFailed')}
          subTitle={<ErrorDetail error={status.error} />}
          extra={back}
        />
      ) : (
        <Result
          status="warning"
          title={t('storage.googleDenied')}
          subTitle={status.reason === 'missing_code' ? t('storage.googleMissingCode') : status.reason}
          extra={back}
        />
      )}
    </Card>
  );
}
