import { Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Role } from '@backupx/contract';
import { roleColors } from '../auth/roles.ts';

/** The translated role name in a coloured tag. */
export function RoleTag({ role, testId }: { role: Role; testId?: string }) {
  const { t } = useTranslation();
  return (
    <Tag color={roleColors[role]} data-testid={testId} style={{ marginInlineEnd: 0 }}>
      {t(`roles.${role}`)}
    </Tag>
  );
}
