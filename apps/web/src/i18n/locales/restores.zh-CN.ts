/** 恢复记录页面的中文文案（合并进 zh-CN.ts）。 */
import type { restoresEnUS } from './restores.en-US.ts';
import type { DeepStrings } from './locale-types.ts';

export const restoresZhCN: DeepStrings<typeof restoresEnUS> = {
  restores: {
    menu: '恢复记录',
    title: '恢复记录',
    description: '每次恢复的目标位置、日志和结果，按时间倒序。',
    empty: '还没有恢复记录。可以在备份记录中恢复一个成功的备份。',
    emptyAction: '查看成功的备份',
    details: '详情',
    detailTitle: '恢复 #{{id}}',
    originalLocation: '原始位置',
    backupRecord: '备份记录 #{{id}}',
    selectedPaths_one: '已选 {{count}} 个路径',
    selectedPaths_other: '已选 {{count}} 个路径',
    selection: '所选路径',
    succeeded: '恢复成功',
    succeededOriginal: '数据已恢复到原始位置。',
    succeededTarget: '数据已恢复到 {{path}}。',
    failed: '恢复失败',
    columns: {
      task: '任务',
      source: '源备份',
      destination: '目标位置',
      triggeredBy: '发起人',
    },
  },
};
