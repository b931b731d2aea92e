import { ApiOutlined, MailOutlined, SendOutlined } from '@ant-design/icons';
import type { NotificationType } from '@backupx/contract';

/** Icon of a channel type. */
export function NotificationTypeIcon({ type }: { type: NotificationType }) {
  switch (type) {
    case 'email':
      return <MailOutlined />;
    case 'webhook':
      return <ApiOutlined />;
    case 'telegram':
      return <SendOutlined />;
  }
}

/** Tag colour of a channel type. */
export const notificationTypeColor: Record<NotificationType, string> = {
  email: 'geekblue',
  webhook: 'purple',
  telegram: 'cyan',
};
