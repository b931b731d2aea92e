import { describe, expect, it } from 'vitest';
import {
  findHanaPrefix,
  hanaBackupPrefixes,
  hanaBackupSql,
  hanaInstanceNumber,
  hanaRecoverSql,
  hanaRetryDelayMs,
  hanaSettings,
  hdbsqlArgs,
} from './saphana.ts';
import type { DatabaseConnection } from './types.ts';

const conn: DatabaseConnection = { host: 'hana', port: 0, user: 'SYSTEM', password: 'pw', databases: [] };
const at = new Date(Date.UTC(2026, 3, 21, 2, 0, 0));

describe('SAP HANA settings', () => {
  it('defaults: port 30015, SYSTEMDB, data/full, 1 channel, 3 retries, instance 00', () => {
    expect(hanaSettings(conn)).toEqual({
      host: 'hana',
      port: 30015,
      user: 'SYSTEM',
      tenant: 'SYSTEMDB',
      instanceNumber: '00',
      backupType: 'data',
      backupLevel: 'full',
      channels: 1,
      maxRetries: 3,
    });
  });
  it('tenant is the first database name; extraConfig overrides', () => {
    const settings = hanaSettings(
      { ...conn, port: 30215, databases: ['HXE', 'X'] },
      {
        backupType: 'log',
        backupLevel: 'incremental',
        backupChannels: 4,
        maxRetries: 5,
        instanceNumber: '90',
      },
    );
    expect(settings).toMatchObject({
      tenant: 'HXE',
      backupType: 'log',
      channels: 4,
      maxRetries: 5,
      instanceNumber: '90',
    });
    expect(() => hanaSettings({ ...conn, databases: ["X'; DROP"] })).toThrow(
      /invalid SAP HANA database name/,
    );
  });
  it('infers the instance number from the port', () => {
    expect(hanaInstanceNumber(30015)).toBe('00');
    expect(hanaInstanceNumber(30215)).toBe('02');
    expect(hanaInstanceNumber(39013)).toBe('90');
    expect(hanaInstanceNumber(443)).toBe('00');
    expect(hanaInstanceNumber(30015, '07')).toBe('07');
  });
  it('waits 5 s × n² before attempt n', () => {
    expect([2, 3, 4].map(hanaRetryDelayMs)).toEqual([20_000, 45_000, 80_000]);
  });
});

describe('SAP HANA SQL', () => {
  const one = hanaBackupPrefixes('/t/hana_data', 'SYSTEMDB', at, 1);
  it('builds one prefix or one per channel', () => {
    expect(one).toEqual(['/t/hana_data/hana_systemdb_20260421_020000']);
    expect(hanaBackupPrefixes('/t/hana_data', 'HXE', at, 3)).toEqual([
      '/t/hana_data/chan_0/hana_hxe_20260421_020000',
      '/t/hana_data/chan_1/hana_hxe_20260421_020000',
      '/t/hana_data/chan_2/hana_hxe_20260421_020000',
    ]);
  });
  it('SYSTEMDB omits FOR (case-insensitive), a tenant gets FOR', () => {
    expect(hanaBackupSql('SYSTEMDB', 'data', 'full', one)).toBe(
      "BACKUP DATA USING FILE ('/t/hana_data/hana_systemdb_20260421_020000')",
    );
    expect(hanaBackupSql('systemdb', 'data', 'full', ['/p'])).toBe("BACKUP DATA USING FILE ('/p')");
    expect(hanaBackupSql('HXE', 'data', 'full', ['/p'])).toBe("BACKUP DATA FOR HXE USING FILE ('/p')");
  });
  it('incremental, differential, log and parallel channels', () => {
    expect(hanaBackupSql('HXE', 'data', 'incremental', ['/p'])).toBe(
      "BACKUP DATA FOR HXE INCREMENTAL USING FILE ('/p')",
    );
    expect(hanaBackupSql('SYSTEMDB', 'data', 'differential', ['/p'])).toBe(
      "BACKUP DATA DIFFERENTIAL USING FILE ('/p')",
    );
    expect(hanaBackupSql('HXE', 'log', 'incremental', ['/p'])).toBe("BACKUP LOG FOR HXE USING FILE ('/p')");
    expect(hanaBackupSql('SYSTEMDB', 'log', 'full', ['/p'])).toBe("BACKUP LOG USING FILE ('/p')");
    expect(hanaBackupSql('HXE', 'data', 'full', ['/a', '/b', "/it's"])).toBe(
      "BACKUP DATA FOR HXE USING FILE ('/a', '/b', '/it''s')",
    );
  });
  it('recover commands', () => {
    expect(hanaRecoverSql('SYSTEMDB', '/r/hana_x')).toBe("RECOVER DATA USING FILE ('/r/hana_x') CLEAR LOG");
    expect(hanaRecoverSql('HXE', '/r/hana_x')).toBe(
      "RECOVER DATA FOR HXE USING FILE ('/r/hana_x') CLEAR LOG",
    );
  });
  it('hdbsql arguments', () => {
    const settings = hanaSettings({ ...conn, databases: ['HXE'] });
    expect(hdbsqlArgs(settings, 'pw', 'SELECT 1')).toEqual([
      '-n',
      'hana:30015',
      '-u',
      'SYSTEM',
      '-p',
      'pw',
      '-d',
      'HXE',
      '-j',
      '-A',
      '-xC',
      'SELECT 1',
    ]);
  });
  it('finds the recovery prefix', () => {
    expect(findHanaPrefix(['chan_1/hana_x_ts_databackup_0_1', 'chan_0/hana_x_ts_databackup_1_1'])).toBe(
      'chan_0/hana_x_ts',
    );
    expect(findHanaPrefix(['readme.txt', 'hana_x_ts.bak'])).toBe('hana_x_ts');
    expect(findHanaPrefix(['dir/hana_x_ts'])).toBe('dir/hana_x_ts');
    expect(findHanaPrefix(['other.bin'])).toBeNull();
  });
});
