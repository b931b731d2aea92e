import { Button, App } from 'antd';
import type { ButtonProps } from 'antd';
import { CopyOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { copyText } from '../lib/clipboard.ts';

/** A button that copies `text` and reports the outcome. */
export function CopyButton({
  text,
  label,
  ...rest
}: { text: string; label?: string } & Omit<ButtonProps, 'onClick'>) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const onClick = async () => {
    const copied = await copyText(text);
    if (copied) void message.success(t('common.copied'));
    else void message.warning(t('common.copyFailed'));
  };
  return (
    <Button icon={<CopyOutlined />} onClick={() => void onClick()} {...rest}>
      {label ?? t('common.copy')}
    </Button>
  );
}
