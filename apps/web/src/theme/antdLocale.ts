import enUSLocale from 'antd/locale/en_US';
import zhCNLocale from 'antd/locale/zh_CN';
import type { Locale } from 'antd/es/locale';
import type { Language } from '../i18n/index.ts';

/**
 * antd takes weekday and month names of its date pickers from the dayjs locale, which the
 * console does not load; the Chinese names are therefore set on the picker locale directly.
 */
const zhPickerNames = {
  shortWeekDays: ['日', '一', '二', '三', '四', '五', '六'],
  shortMonths: ['1月', '2月', '3月', '4月', '5月', '6月', '7月', '8月', '9月', '10月', '11月', '12月'],
};

const zhCN: Locale = zhCNLocale.DatePicker
  ? {
      ...zhCNLocale,
      DatePicker: { ...zhCNLocale.DatePicker, lang: { ...zhCNLocale.DatePicker.lang, ...zhPickerNames } },
    }
  : zhCNLocale;

export const antdLocales: Record<Language, Locale> = { 'en-US': enUSLocale, 'zh-CN': zhCN };
