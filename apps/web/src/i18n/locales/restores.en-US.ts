/** English strings of the restore records page (merged into en-US.ts). */
export const restoresEnUS = {
  restores: {
    menu: 'Restore records',
    title: 'Restore records',
    description: 'Every restore with its destination, log and result, newest first.',
    empty: 'No restores yet. Restore a successful backup from the backup records.',
    emptyAction: 'Go to the successful backups',
    details: 'Details',
    detailTitle: 'Restore #{{id}}',
    originalLocation: 'Original location',
    backupRecord: 'Backup record #{{id}}',
    selectedPaths_one: '{{count}} selected path',
    selectedPaths_other: '{{count}} selected paths',
    selection: 'Selected paths',
    succeeded: 'The restore succeeded',
    succeededOriginal: 'The data was restored to its original location.',
    succeededTarget: 'The data was restored to {{path}}.',
    failed: 'The restore failed',
    columns: {
      task: 'Task',
      source: 'Source backup',
      destination: 'Destination',
      triggeredBy: 'Started by',
    },
  },
};
