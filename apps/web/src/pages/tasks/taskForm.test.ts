import { describe, expect, it } from 'vitest';
import type { TaskDetail } from '@backupx/contract';
import {
  allowsReplication,
  backupModes,
  bodyFromValues,
  defaultTaskValues,
  effectiveBackupMode,
  matchesAllTags,
  parseTags,
  replicationTargetOptions,
  stepOfField,
  taskFieldErrors,
  upstreamTaskOptions,
  valuesFromDetail,
  withoutPrimaries,
} from './taskForm.ts';

const detail = (overrides: Partial<TaskDetail> = {}): TaskDetail => ({
  id: 3,
  name: 'db',
  type: 'saphana',
  enabled: true,
  cronExpr: '0 2 * * *',
  storageTargetId: 1,
  storageTargetName: 'a',
  storageTargetIds: [1, 2],
  storageTargetNames: ['a', 'b'],
  nodeId: 0,
  nodeName: '',
  nodePoolTag: '',
  tags: 'prod, db,prod',
  retentionDays: 30,
  compression: 'zstd',
  encrypt: true,
  maxBackups: 10,
  lastRunAt: null,
  lastStatus: 'idle',
  verifyEnabled: false,
  verifyCronExpr: '',
  verifyMode: 'quick',
  slaHoursRpo: 24,
  alertOnConsecutiveFails: 2,
  keepDaily: 7,
  keepWeekly: 0,
  keepMonthly: 0,
  keepYearly: 0,
  backupMode: 'full',
  diffFullIntervalDays: 7,
  replicationTargetIds: [],
  maintenanceWindows: '',
  dependsOnTaskIds: [],
  updatedAt: '2026-04-21T02:00:00.000Z',
  sourcePath: '',
  sourcePaths: [],
  excludePatterns: [],
  dbHost: 'hana',
  dbPort: 30015,
  dbUser: 'SYSTEM',
  dbName: 'SYSTEMDB,HXE',
  dbPath: '',
  extraConfig: {
    backupType: 'data',
    backupLevel: 'incremental',
    backupChannels: 4,
    maxRetries: 5,
    instanceNumber: '90',
  },
  maskedFields: ['dbPassword'],
  createdAt: '2026-04-20T02:00:00.000Z',
  ...overrides,
});

describe('tags', () => {
  it('parses CSV tags and matches all selected ones', () => {
    expect(parseTags(' prod, db,,prod ')).toEqual(['prod', 'db']);
    expect(matchesAllTags('prod,db', ['db', 'prod'])).toBe(true);
    expect(matchesAllTags('prod', ['db', 'prod'])).toBe(false);
    expect(matchesAllTags('', [])).toBe(true);
  });
});

describe('task form conversion', () => {
  it('round-trips a SAP HANA task and keeps the stored password when left empty on edit', () => {
    const values = valuesFromDetail(detail());
    expect(values.dbNames).toEqual(['SYSTEMDB', 'HXE']);
    expect(values.hanaChannels).toBe(4);
    expect(values.tags).toEqual(['prod', 'db']);
    const body = bodyFromValues(values, 'edit');
    expect(body).toMatchObject({
      type: 'saphana',
      dbName: 'SYSTEMDB,HXE',
      dbPort: 30015,
      storageTargetIds: [1, 2],
      extraConfig: {
        backupType: 'data',
        backupLevel: 'incremental',
        backupChannels: 4,
        maxRetries: 5,
        instanceNumber: '90',
      },
      sourcePaths: [],
      backupMode: 'full',
    });
    expect('dbPassword' in body).toBe(false);
    expect(bodyFromValues({ ...values, dbPassword: 'new' }, 'edit').dbPassword).toBe('new');
  });

  it('sends only the file fields for a file task and the password on create', () => {
    const values = {
      ...defaultTaskValues(),
      name: ' web ',
      sourcePaths: ['/var/www', ' ', '/etc'],
      excludePatterns: '*.log\n\n node_modules ',
      storageTargetIds: [1],
      backupMode: 'differential' as const,
    };
    const body = bodyFromValues(values, 'create');
    expect(body).toMatchObject({
      name: 'web',
      sourcePaths: ['/var/www', '/etc'],
      excludePatterns: ['*.log', 'node_modules'],
      dbHost: '',
      dbName: '',
      extraConfig: {},
      compression: 'zstd',
      backupMode: 'differential',
    });
    expect('dbPassword' in body).toBe(false);
    const mysql = bodyFromValues({ ...values, type: 'mysql', dbNames: ['shop'], dbUser: 'root' }, 'create');
    expect(mysql).toMatchObject({ dbPort: 3306, dbPassword: '', backupMode: 'full', sourcePaths: [] });
  });
});

describe('backup mode', () => {
  const fileValues = {
    ...defaultTaskValues(),
    name: 'web',
    sourcePaths: ['/var/www'],
    storageTargetIds: [1, 2],
  };

  it('offers full, differential and repository, and defaults to full', () => {
    expect(backupModes).toEqual(['full', 'differential', 'repository']);
    expect(defaultTaskValues().backupMode).toBe('full');
  });

  it('round-trips a repository file task', () => {
    const values = valuesFromDetail(
      detail({ type: 'file', backupMode: 'repository', sourcePaths: ['/srv'], dbHost: '', dbName: '' }),
    );
    expect(values.backupMode).toBe('repository');
    expect(bodyFromValues(values, 'edit')).toMatchObject({ type: 'file', backupMode: 'repository' });
  });

  it('forces full for every type but file', () => {
    expect(valuesFromDetail(detail({ type: 'mysql', backupMode: 'repository' })).backupMode).toBe('full');
    for (const type of ['mysql', 'postgresql', 'sqlite', 'saphana', 'mongodb'] as const) {
      expect(effectiveBackupMode(type, 'repository')).toBe('full');
      expect(effectiveBackupMode(type, 'differential')).toBe('full');
      expect(bodyFromValues({ ...fileValues, type, backupMode: 'repository' }, 'create').backupMode).toBe(
        'full',
      );
    }
    expect(effectiveBackupMode('file', 'repository')).toBe('repository');
  });

  it('keeps repository mode on a remote node or a node pool', () => {
    const values = { ...fileValues, backupMode: 'repository' as const };
    expect(bodyFromValues({ ...values, runOn: 'node', nodeId: 7 }, 'create')).toMatchObject({
      backupMode: 'repository',
      nodeId: 7,
    });
    expect(bodyFromValues({ ...values, runOn: 'pool', nodePoolTag: 'eu' }, 'create')).toMatchObject({
      backupMode: 'repository',
      nodePoolTag: 'eu',
    });
    expect(
      bodyFromValues({ ...fileValues, backupMode: 'differential', runOn: 'node', nodeId: 7 }, 'create')
        .backupMode,
    ).toBe('differential');
  });

  it('never sends replication targets with repository mode', () => {
    expect(allowsReplication('file', 'repository')).toBe(false);
    expect(allowsReplication('file', 'full')).toBe(true);
    expect(allowsReplication('file', 'differential')).toBe(true);
    // A non-file task is saved as full, so its replication targets stay.
    expect(allowsReplication('mysql', 'repository')).toBe(true);
    const values = { ...fileValues, replicationTargetIds: [3, 4] };
    expect(bodyFromValues({ ...values, backupMode: 'repository' }, 'create').replicationTargetIds).toEqual(
      [],
    );
    expect(bodyFromValues({ ...values, backupMode: 'full' }, 'create').replicationTargetIds).toEqual([3, 4]);
  });

  it('puts the repository errors of the server on the backup mode', () => {
    for (const code of [
      'BACKUP_TASK_REPOSITORY_UNSUPPORTED',
      'BACKUP_TASK_REPOSITORY_REPLICATION_UNSUPPORTED',
    ]) {
      expect(taskFieldErrors({ code, message: 'no' })).toEqual([{ name: ['backupMode'], message: 'no' }]);
    }
  });
});

describe('upstream tasks and replication targets', () => {
  it('round-trip through the form when editing a task', () => {
    const values = valuesFromDetail(detail({ dependsOnTaskIds: [5, 9], replicationTargetIds: [4] }));
    expect(values.dependsOnTaskIds).toEqual([5, 9]);
    expect(values.replicationTargetIds).toEqual([4]);
    expect(bodyFromValues(values, 'edit')).toMatchObject({
      storageTargetIds: [1, 2],
      dependsOnTaskIds: [5, 9],
      replicationTargetIds: [4],
    });
  });

  it('are sent empty when none is chosen, so clearing them clears the stored lists', () => {
    const values = valuesFromDetail(detail({ dependsOnTaskIds: [5], replicationTargetIds: [4] }));
    const body = bodyFromValues({ ...values, dependsOnTaskIds: [], replicationTargetIds: [] }, 'edit');
    expect(body.dependsOnTaskIds).toEqual([]);
    expect(body.replicationTargetIds).toEqual([]);
    expect(defaultTaskValues()).toMatchObject({ dependsOnTaskIds: [], replicationTargetIds: [] });
  });

  it('never send a primary target as a replication target, nor duplicates', () => {
    const values = {
      ...defaultTaskValues(),
      name: 'x',
      sourcePaths: ['/a'],
      storageTargetIds: [1, 2],
      replicationTargetIds: [2, 3, 3],
      dependsOnTaskIds: [7, 7, 8],
    };
    const body = bodyFromValues(values, 'create');
    expect(body.replicationTargetIds).toEqual([3]);
    expect(body.dependsOnTaskIds).toEqual([7, 8]);
    expect(withoutPrimaries([4, 1, 4, 5], [1])).toEqual([4, 5]);
    // A stored task that names itself or a primary (older data) is cleaned on load.
    const loaded = valuesFromDetail(detail({ dependsOnTaskIds: [3, 5], replicationTargetIds: [2, 6] }));
    expect(loaded.dependsOnTaskIds).toEqual([5]);
    expect(loaded.replicationTargetIds).toEqual([6]);
  });

  it('offer all other tasks by name as upstream tasks, never the task itself', () => {
    const tasks = [
      { id: 3, name: 'self' },
      { id: 9, name: 'web' },
      { id: 5, name: 'db' },
    ];
    expect(upstreamTaskOptions(tasks, 3)).toEqual([
      { value: 5, label: 'db' },
      { value: 9, label: 'web' },
    ]);
    expect(upstreamTaskOptions(tasks, null).map((option) => option.value)).toEqual([5, 3, 9]);
  });

  it('offer the enabled targets that are not a selected primary as replication targets', () => {
    const targets = [
      { id: 1, name: 'disk', enabled: true },
      { id: 2, name: 's3', enabled: true },
      { id: 3, name: 'old', enabled: false },
      { id: 4, name: 'sftp', enabled: true },
    ];
    expect(replicationTargetOptions(targets, [1]).map((option) => option.value)).toEqual([2, 4]);
    // A disabled target the task still names stays visible (disabled) so it can be removed.
    expect(replicationTargetOptions(targets, [1, 2], [3])).toEqual([
      { value: 3, label: 'old', disabled: true },
      { value: 4, label: 'sftp', disabled: false },
    ]);
  });
});

describe('run on', () => {
  it('reads the master, a node or a pool from a stored task', () => {
    expect(valuesFromDetail(detail())).toMatchObject({ runOn: 'master', nodeId: null, nodePoolTag: '' });
    expect(valuesFromDetail(detail({ nodeId: 7, nodeName: 'web-1' }))).toMatchObject({
      runOn: 'node',
      nodeId: 7,
    });
    expect(valuesFromDetail(detail({ nodePoolTag: 'eu' }))).toMatchObject({
      runOn: 'pool',
      nodeId: null,
      nodePoolTag: 'eu',
    });
  });

  it('sends exactly one of node and pool, and clears both for the master', () => {
    const values = { ...defaultTaskValues(), name: 'x', sourcePaths: ['/a'], storageTargetIds: [1] };
    expect(bodyFromValues({ ...values, runOn: 'node', nodeId: 7, nodePoolTag: 'eu' }, 'edit')).toMatchObject({
      nodeId: 7,
      nodePoolTag: '',
    });
    expect(
      bodyFromValues({ ...values, runOn: 'pool', nodeId: 7, nodePoolTag: ' eu ' }, 'edit'),
    ).toMatchObject({
      nodeId: 0,
      nodePoolTag: 'eu',
    });
    expect(
      bodyFromValues({ ...values, runOn: 'master', nodeId: 7, nodePoolTag: 'eu' }, 'edit'),
    ).toMatchObject({
      nodeId: 0,
      nodePoolTag: '',
    });
  });

  it('keeps the encryption switch on a remote node', () => {
    const values = { ...defaultTaskValues(), name: 'x', sourcePaths: ['/a'], storageTargetIds: [1] };
    expect(bodyFromValues({ ...values, runOn: 'node', nodeId: 7, encrypt: true }, 'create').encrypt).toBe(
      true,
    );
  });
});

describe('taskFieldErrors', () => {
  it('maps validation details, codes and messages to form fields', () => {
    expect(
      taskFieldErrors({
        code: 'BACKUP_TASK_INVALID',
        message: 'invalid',
        details: [{ path: 'sourcePaths.1', message: 'too long' }],
      }),
    ).toEqual([{ name: ['sourcePaths', 1], message: 'too long' }]);
    expect(taskFieldErrors({ code: 'BACKUP_TASK_NAME_EXISTS', message: 'exists' })).toEqual([
      { name: ['name'], message: 'exists' },
    ]);
    expect(taskFieldErrors({ code: 'BACKUP_TASK_INVALID', message: 'cronExpr: needs 5 fields' })).toEqual([
      { name: ['cronExpr'], message: 'needs 5 fields' },
    ]);
    expect(
      taskFieldErrors({ code: 'BACKUP_TASK_INVALID', message: 'mysql tasks need dbHost, dbName' }).map(
        (e) => e.name,
      ),
    ).toEqual([['dbHost'], ['dbNames']]);
    expect(
      taskFieldErrors({ code: 'BACKUP_TASK_INVALID', message: 'source path "x" must be absolute' })[0]?.name,
    ).toEqual(['sourcePaths']);
    expect(taskFieldErrors({ code: 'INTERNAL_ERROR', message: 'boom' })).toEqual([]);
    expect(
      taskFieldErrors({
        code: 'BACKUP_TASK_DEPENDENCY_INVALID',
        message: 'Depending on task 4 would close a cycle',
      }),
    ).toEqual([{ name: ['dependsOnTaskIds'], message: 'Depending on task 4 would close a cycle' }]);
    expect(
      taskFieldErrors({
        code: 'BACKUP_STORAGE_TARGET_INVALID',
        message: 'Storage target 2 is already a primary target; it cannot also be a replication target',
      })[0]?.name,
    ).toEqual(['replicationTargetIds']);
    expect(
      taskFieldErrors({
        code: 'BACKUP_STORAGE_TARGET_INVALID',
        message: 'Replication target 8 does not exist',
      })[0]?.name,
    ).toEqual(['replicationTargetIds']);
    expect(
      taskFieldErrors({
        code: 'BACKUP_STORAGE_TARGET_INVALID',
        message: 'Storage target 8 does not exist',
      })[0]?.name,
    ).toEqual(['storageTargetIds']);
  });

  it('knows the step of each field', () => {
    expect(stepOfField('cronExpr')).toBe(0);
    expect(stepOfField('nodeId')).toBe(0);
    expect(stepOfField('nodePoolTag')).toBe(0);
    expect(stepOfField('dbNames')).toBe(1);
    expect(stepOfField('storageTargetIds')).toBe(2);
    expect(stepOfField('dependsOnTaskIds')).toBe(2);
    expect(stepOfField('replicationTargetIds')).toBe(2);
  });
});
