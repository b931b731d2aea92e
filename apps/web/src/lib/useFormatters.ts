import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { DurationUnits } from './format.ts';

/** Duration unit labels of the current language. */
export function useDurationUnits(): DurationUnits {
  const { t } = useTranslation();
  return useMemo(
    () => ({
      day: t('duration.day'),
      hour: t('duration.hour'),
      minute: t('duration.minute'),
      second: t('duration.second'),
    }),
    [t],
  );
}
