import { Badge, Button, Drawer, Empty, Flex, Popconfirm, Tag, Tooltip, Typography, theme } from 'antd';
import {
  BellOutlined,
  CheckCircleFilled,
  ClearOutlined,
  CloseCircleFilled,
  ExclamationCircleFilled,
} from '@ant-design/icons';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { formatDateTime, formatRelativeTime } from '../lib/format.ts';
import { useEventCenter } from './EventCenterProvider.tsx';
import { eventFieldEntries, eventSeverity } from './eventMeta.ts';
import type { EventSeverity, ReceivedEvent } from './eventMeta.ts';
import { eventFieldLink, formatEventField } from './eventText.ts';

const severityTag: Record<EventSeverity, string> = { success: 'success', error: 'error', warning: 'warning' };

/** The bell in the header: unread count, and the drawer with the events of this session. */
export function EventCenter() {
  const { t } = useTranslation();
  const { events, unread, status, open, setOpen, clear } = useEventCenter();
  const { token } = theme.useToken();

  const statusText =
    status === 'open'
      ? t('eventCenter.statusLive')
      : status === 'stopped'
        ? t('eventCenter.statusStopped')
        : status === 'connecting'
          ? t('eventCenter.statusConnecting')
          : t('eventCenter.statusReconnecting');
  const statusColor =
    status === 'open'
      ? token.colorSuccess
      : status === 'stopped'
        ? token.colorTextQuaternary
        : token.colorWarning;

  return (
    <>
      <Tooltip title={t('eventCenter.title')}>
        <Button
          type="text"
          aria-label={t('eventCenter.title')}
          onClick={() => setOpen(true)}
          data-testid="event-center-bell"
          style={{ paddingInline: 8 }}
        >
          <Badge count={unread} size="small" overflowCount={50} data-testid="event-center-unread">
            <BellOutlined style={{ fontSize: 18 }} />
          </Badge>
        </Button>
      </Tooltip>
      <Drawer
        open={open}
        onClose={() => setOpen(false)}
        size={420}
        title={
          <Flex align="center" gap={10}>
            <span>{t('eventCenter.title')}</span>
            <Tooltip title={t('eventCenter.statusHelp')}>
              <Typography.Text
                type="secondary"
                style={{ fontSize: 12, fontWeight: 'normal' }}
                data-testid="event-center-status"
                data-status={status}
              >
                <span
                  aria-hidden
                  style={{
                    display: 'inline-block',
                    width: 8,
                    height: 8,
                    borderRadius: 4,
                    marginInlineEnd: 6,
                    background: statusColor,
                  }}
                />
                {statusText}
              </Typography.Text>
            </Tooltip>
          </Flex>
        }
        extra={
          <Popconfirm
            title={t('eventCenter.clearConfirm')}
            okText={t('eventCenter.clear')}
            cancelText={t('common.cancel')}
            onConfirm={clear}
            disabled={events.length === 0}
          >
            <Button
              size="small"
              icon={<ClearOutlined />}
              disabled={events.length === 0}
              data-testid="event-center-clear"
            >
              {t('eventCenter.clear')}
            </Button>
          </Popconfirm>
        }
        data-testid="event-center-drawer"
        styles={{ body: { padding: events.length === 0 ? 24 : '8px 16px' } }}
      >
        {events.length === 0 ? (
          <Empty
            image={Empty.PRESENTED_IMAGE_SIMPLE}
            description={
              <Flex vertical gap={4}>
                <span>{t('eventCenter.empty')}</span>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {t('eventCenter.emptyHint')}
                </Typography.Text>
              </Flex>
            }
          />
        ) : (
          <Flex vertical data-testid="event-center-list">
            {events.map((item, index) => (
              <EventItem key={item.id} item={item} first={index === 0} />
            ))}
          </Flex>
        )}
      </Drawer>
    </>
  );
}

function EventItem({ item, first }: { item: ReceivedEvent; first: boolean }) {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const { setOpen } = useEventCenter();
  const { token } = theme.useToken();
  const { event } = item;
  const severity = eventSeverity[event.type];
  const icon =
    severity === 'success' ? (
      <CheckCircleFilled style={{ color: token.colorSuccess }} />
    ) : severity === 'error' ? (
      <CloseCircleFilled style={{ color: token.colorError }} />
    ) : (
      <ExclamationCircleFilled style={{ color: token.colorWarning }} />
    );
  const fields = eventFieldEntries(event);
  return (
    <Flex
      gap={12}
      style={{ padding: '12px 0', borderTop: first ? undefined : `1px solid ${token.colorSplit}` }}
      data-testid={`event-item-${event.type}`}
    >
      <span style={{ fontSize: 18, lineHeight: '22px' }}>{icon}</span>
      <div style={{ minWidth: 0, flex: 1 }}>
        <Flex justify="space-between" align="baseline" gap={8}>
          <Typography.Text strong>{t(`eventCenter.types.${event.type}`)}</Typography.Text>
          <Tooltip title={formatDateTime(event.timestamp)}>
            <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
              {formatRelativeTime(event.timestamp, item.receivedAt, i18n.language)}
            </Typography.Text>
          </Tooltip>
        </Flex>
        <Tag color={severityTag[severity]} style={{ marginTop: 4 }} className="bx-mono">
          {event.type}
        </Tag>
        {fields.length > 0 ? (
          <dl
            style={{ margin: '6px 0 0', display: 'grid', gridTemplateColumns: 'auto 1fr', gap: '2px 12px' }}
          >
            {fields.map(([name, value]) => {
              const link = eventFieldLink(name, value);
              return (
                <FieldRow
                  key={name}
                  label={t(`eventCenter.fields.${name}`)}
                  value={formatEventField(t, name, value)}
                  danger={name === 'error'}
                  onOpen={
                    link
                      ? () => {
                          setOpen(false);
                          void navigate(link);
                        }
                      : undefined
                  }
                />
              );
            })}
          </dl>
        ) : (
          <Typography.Paragraph
            type="secondary"
            style={{ margin: '6px 0 0', whiteSpace: 'pre-line', fontSize: 12 }}
          >
            {event.body}
          </Typography.Paragraph>
        )}
      </div>
    </Flex>
  );
}

/** A `dt`/`dd` pair of the event's field list. */
function FieldRow({
  label,
  value,
  danger,
  onOpen,
}: {
  label: string;
  value: string;
  danger: boolean;
  /** Opens the page of the item the field names (a record, a restore). */
  onOpen: (() => void) | undefined;
}) {
  const { token } = theme.useToken();
  return (
    <>
      <dt style={{ fontSize: 12, color: token.colorTextSecondary }}>{label}</dt>
      <dd
        style={{
          fontSize: 12,
          margin: 0,
          overflowWrap: 'anywhere',
          color: danger ? token.colorError : token.colorText,
        }}
      >
        {onOpen ? (
          <Typography.Link style={{ fontSize: 12 }} onClick={onOpen}>
            #{value}
          </Typography.Link>
        ) : (
          value
        )}
      </dd>
    </>
  );
}
