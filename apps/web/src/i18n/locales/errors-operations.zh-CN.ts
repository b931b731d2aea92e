import type { DeepStrings } from './locale-types.ts';
import type { operationsErrorsEnUS } from './errors-operations.en-US.ts';

export const operationsErrorsZhCN: DeepStrings<typeof operationsErrorsEnUS> = {
  TASK_TEMPLATE_NOT_FOUND: '该模板不存在（或已被删除）。',
  TASK_TEMPLATE_NAME_EXISTS: '已有其他模板使用此名称。',
  TASK_TEMPLATE_INVALID: '模板或其中某一行无效。',
  SEARCH_QUERY_INVALID: '搜索内容最多 200 个字符。',
  TASK_IMPORT_INVALID: '该文件不是任务导出文件（需为 v1 版本，包含 1 到 1000 个任务）。',
  REPLICATION_SOURCE_INVALID: '只能复制成功的备份。',
  REPLICATION_DEST_INVALID: '请选择尚未保存此备份的其他存储目标。',
  REPLICATION_DEST_DISABLED: '目标存储已停用。',
  REPLICATION_CROSS_NODE_LOCAL_DISK: '该备份位于节点自身的磁盘上，Master 无法复制。',
  REPLICATION_RECORD_NOT_FOUND: '该复制记录不存在（或已被删除）。',
  VERIFY_MODE_INVALID: '演练模式只能是快速（quick）或深度（deep）。',
  VERIFY_NO_SOURCE: '该任务还没有可演练的成功备份，请先运行一次。',
  VERIFY_SOURCE_INVALID: '只能对成功的备份进行演练。',
  VERIFY_COPY_NOT_FOUND: '该备份在此存储目标上没有成功的副本。',
  VERIFY_CROSS_NODE_LOCAL_DISK: '该备份位于节点自身的磁盘上，Master 无法读取以进行演练。',
  VERIFY_RECORD_NOT_FOUND: '该验证演练不存在（或已被删除）。',
};
