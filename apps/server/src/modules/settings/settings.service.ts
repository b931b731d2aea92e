import {
  MASKED_SECRET,
  secretSettingKeys,
  settingKeys,
  type SettingKey,
  type Settings,
} from '@backupx/contract';
import { AppError } from '../../lib/errors.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { Actor } from '../auth/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { StoredConfig, SystemConfigsRepository } from './system-configs.repository.ts';

export interface SettingsServiceDeps {
  systemConfigsRepository: SystemConfigsRepository;
  secretBox: SecretBox;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
}

export type SettingsService = ReturnType<typeof createSettingsService>;

export const settingDefaults: Settings = {
  site_name: 'BackupX',
  language: 'en-US',
  timezone: 'UTC',
  backup_notification_enabled: 'true',
  bandwidth_limit: '',
  audit_webhook_url: '',
  audit_webhook_secret: '',
  audit_retention_days: '0',
  verify_sandbox_mysql: '',
  verify_sandbox_postgresql: '',
};

const isSecret = (key: SettingKey): boolean => secretSettingKeys.includes(key);

const validTimezone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

export const createSettingsService = (deps: SettingsServiceDeps) => {
  const { systemConfigsRepository, secretBox } = deps;

  const readAll = async (): Promise<Settings> => {
    const stored = await systemConfigsRepository.getMany(settingKeys);
    const result: Settings = { ...settingDefaults };
    for (const key of settingKeys) {
      const row = stored.get(key);
      if (row === undefined) continue;
      const value = row.encrypted ? secretBox.open(row.value) : row.value;
      (result as Record<SettingKey, string>)[key] = value;
    }
    return result;
  };

  /** Settings as every role may see them: secrets masked (SPEC §12.5 quirk 4). */
  const masked = (settings: Settings): Settings => {
    const copy: Record<string, string> = { ...settings };
    for (const key of secretSettingKeys) if (copy[key] !== '') copy[key] = MASKED_SECRET;
    return copy as Settings;
  };

  return {
    async get(): Promise<Settings> {
      return masked(await readAll());
    },

    /** One setting as stored, secrets decrypted: for the master's own use, never for a response. */
    async value(key: SettingKey): Promise<string> {
      return (await readAll())[key];
    },

    async update(actor: Actor, patch: Partial<Settings>): Promise<Settings> {
      if (patch.timezone !== undefined && !validTimezone(patch.timezone)) {
        throw new AppError('SETTINGS_INVALID', `Unknown time zone "${patch.timezone}"`, {
          details: [{ path: 'timezone', message: 'must be an IANA time zone such as UTC or Asia/Shanghai' }],
        });
      }
      const current = await readAll();
      const changes: StoredConfig[] = [];
      for (const key of settingKeys) {
        const value = patch[key];
        if (value === undefined) continue;
        if (isSecret(key) && value === MASKED_SECRET) continue; // the masked echo keeps the stored secret
        if (value === current[key]) continue;
        changes.push({
          key,
          value: isSecret(key) && value !== '' ? secretBox.seal(value) : value,
          encrypted: isSecret(key) && value !== '',
        });
      }
      if (changes.length > 0) {
        await systemConfigsRepository.upsertMany(changes, toIso(deps.clock.now()));
        await deps.audit.record(actor, {
          category: 'settings',
          action: 'update',
          targetType: 'settings',
          detail: `Updated settings: ${changes.map((change) => change.key).join(', ')}`,
        });
      }
      return masked(await readAll());
    },
  };
};
