/** Starting a drill of a task or of one backup (one copy), then opening it on the drills page. */
import { App } from 'antd';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { VerificationDetail, VerifyMode } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { verificationDetailsUrl, verificationKeys } from './verificationQueries.ts';

export interface RecordDrillInput {
  recordId: number;
  mode: VerifyMode;
  /** The copy to read; absent = the first copy the master can read. */
  storageTargetId?: number;
}

export function useDrill() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  const started = (drill: VerificationDetail) => {
    queryClient.setQueryData(verificationKeys.detail(drill.id), drill);
    void queryClient.invalidateQueries({ queryKey: verificationKeys.all });
    void message.success(
      drill.mode === 'deep'
        ? t('verification.startedDeep', { id: drill.id })
        : t('verification.startedQuick', { id: drill.id }),
    );
    void navigate(verificationDetailsUrl(drill.id));
  };

  const record = useMutation({
    mutationFn: ({ recordId, mode, storageTargetId }: RecordDrillInput) =>
      apiCall(apiRoutes.verification.verifyRecord, {
        params: { id: recordId },
        body: storageTargetId === undefined ? { mode } : { mode, storageTargetId },
      }),
    onSuccess: started,
    onError: (error) => void message.error(errorText(t, error)),
  });

  const task = useMutation({
    mutationFn: ({ taskId, mode }: { taskId: number; mode: VerifyMode }) =>
      apiCall(apiRoutes.verification.verifyTask, { params: { id: taskId }, body: { mode } }),
    onSuccess: started,
    onError: (error) => void message.error(errorText(t, error)),
  });

  return { record, task };
}
