import { AUDIT_EXPORT_MAX_ROWS, type AuditEntry, type AuditFilter } from '@backupx/contract';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import { addMs, toIso } from '../../lib/clock.ts';
import { hmacSha256Hex, type SecretBox } from '../../lib/crypto.ts';
import { toCsv } from '../../lib/csv.ts';
import type { AuditLogRow } from '../../db/tables.ts';
import type { Actor } from '../auth/principal.ts';
import type { SystemConfigsRepository } from '../settings/system-configs.repository.ts';
import type { AuditQuery, AuditRepository } from './audit.repository.ts';

export interface AuditEvent {
  category: string;
  action: string;
  targetType?: string;
  targetId?: string | number;
  targetName?: string;
  detail?: string;
}

export interface AuditServiceDeps {
  auditRepository: AuditRepository;
  systemConfigsRepository: Pick<SystemConfigsRepository, 'getMany'>;
  secretBox: SecretBox;
  clock: Clock;
  logger: Logger;
  fetch?: typeof fetch;
}

export type AuditService = ReturnType<typeof createAuditService>;

const WEBHOOK_TIMEOUT_MS = 3000;
const DAY_MS = 86_400_000;

const toEntry = (row: AuditLogRow): AuditEntry => ({ ...row, id: row.id, userId: row.userId });

const csvHeaders = {
  'en-US': [
    'Time',
    'User',
    'Category',
    'Action',
    'Target type',
    'Target ID',
    'Target name',
    'Detail',
    'Client IP',
  ],
  'zh-CN': ['时间', '用户', '分类', '操作', '目标类型', '目标ID', '目标名称', '详情', '客户端IP'],
} as const;

export const createAuditService = (deps: AuditServiceDeps) => {
  const { auditRepository, clock, logger } = deps;
  const doFetch = deps.fetch ?? fetch;
  const pendingDeliveries = new Set<Promise<void>>();

  // Stored timestamps are compared as text, so a bound whose UTC year leaves 0000–9999 (e.g.
  // 9999-12-31T23:59:59-05:00, "+010000-…" in ISO) is clamped to keep the text order right.
  const boundIso = (rfc3339: string): string => {
    const iso = new Date(rfc3339).toISOString();
    if (iso.startsWith('+')) return '9999-12-31T23:59:59.999Z';
    if (iso.startsWith('-')) return '0000-01-01T00:00:00.000Z';
    return iso;
  };

  const toQuery = (filter: AuditFilter): AuditQuery => {
    const { dateFrom, dateTo, ...rest } = filter;
    const query: AuditQuery = { ...rest };
    if (dateFrom !== undefined) query.fromIso = boundIso(dateFrom);
    if (dateTo !== undefined) query.toIso = boundIso(dateTo);
    return query;
  };

  const webhookTarget = async (): Promise<{ url: string; secret: string } | null> => {
    const stored = await deps.systemConfigsRepository.getMany(['audit_webhook_url', 'audit_webhook_secret']);
    const url = stored.get('audit_webhook_url')?.value ?? '';
    if (url === '') return null;
    const secretRow = stored.get('audit_webhook_secret');
    const secret =
      secretRow === undefined
        ? ''
        : secretRow.encrypted
          ? deps.secretBox.open(secretRow.value)
          : secretRow.value;
    return { url, secret };
  };

  /** Posts one entry to the audit webhook; failures are logged, never thrown (SPEC §12.9). */
  const deliver = async (entry: AuditEntry): Promise<void> => {
    try {
      const target = await webhookTarget();
      if (target === null) return;
      const body = JSON.stringify({
        eventType: 'audit.log',
        occurredAt: entry.createdAt,
        actor: { userId: entry.userId, username: entry.username },
        category: entry.category,
        action: entry.action,
        targetType: entry.targetType,
        targetId: entry.targetId,
        targetName: entry.targetName,
        detail: entry.detail,
        clientIp: entry.clientIp,
      });
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        'User-Agent': 'BackupX-Audit/1.0',
      };
      if (target.secret !== '')
        headers['X-BackupX-Signature'] = `sha256=${hmacSha256Hex(target.secret, body)}`;
      const response = await doFetch(target.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      if (response.status >= 400)
        logger.warn({ status: response.status }, 'audit webhook answered with an error');
      await response.body?.cancel();
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'audit webhook delivery failed');
    }
  };

  return {
    /** Writes one entry (awaited), then forwards it to the webhook in the background. */
    async record(actor: Actor, event: AuditEvent): Promise<AuditEntry> {
      const row = await auditRepository.insert({
        userId: actor.userId,
        username: actor.username.slice(0, 64),
        category: event.category,
        action: event.action,
        targetType: event.targetType ?? '',
        targetId: event.targetId === undefined ? '' : String(event.targetId).slice(0, 64),
        targetName: (event.targetName ?? '').slice(0, 128),
        detail: event.detail ?? '',
        clientIp: actor.clientIp.slice(0, 45),
        createdAt: toIso(clock.now()),
      });
      const entry = toEntry(row);
      const delivery = deliver(entry).finally(() => pendingDeliveries.delete(delivery));
      pendingDeliveries.add(delivery);
      return entry;
    },

    async list(
      filter: AuditFilter,
      limit: number,
      offset: number,
    ): Promise<{ items: AuditEntry[]; total: number }> {
      const { items, total } = await auditRepository.list(toQuery(filter), limit, offset);
      return { items: items.map(toEntry), total };
    },

    async exportCsv(filter: AuditFilter, language: 'en-US' | 'zh-CN'): Promise<string> {
      const { items } = await auditRepository.list(toQuery(filter), AUDIT_EXPORT_MAX_ROWS, 0);
      return toCsv(
        csvHeaders[language],
        items.map((row) => [
          row.createdAt,
          row.username,
          row.category,
          row.action,
          row.targetType,
          row.targetId,
          row.targetName,
          row.detail,
          row.clientIp,
        ]),
      );
    },

    /** Deletes entries older than the `audit_retention_days` setting (0 or unset keeps everything). */
    async purgeExpired(): Promise<number> {
      const stored = await deps.systemConfigsRepository.getMany(['audit_retention_days']);
      const days = Number(stored.get('audit_retention_days')?.value ?? '0');
      if (!Number.isFinite(days) || days <= 0) return 0;
      const removed = await auditRepository.deleteOlderThan(toIso(addMs(clock.now(), -days * DAY_MS)));
      if (removed > 0) logger.info({ removed, days }, 'audit retention removed old entries');
      return removed;
    },

    /** Waits for webhook deliveries in flight (tests, shutdown). */
    async flush(): Promise<void> {
      await Promise.allSettled([...pendingDeliveries]);
    },
  };
};
