import type { CSSProperties, ReactNode } from 'react';
import { Flex, theme } from 'antd';

interface CodeBlockProps {
  /** The text: a secret, a token or a shell command. */
  value: string;
  /** `data-testid` of the element holding exactly `value` (what tests read). */
  testId?: string;
  /** Shown beside the text (a copy button). */
  actions?: ReactNode;
  /** Scrolls instead of growing past this height. */
  maxHeight?: number;
  /** Keeps line breaks and scrolls horizontally (scripts) instead of breaking anywhere (tokens). */
  preformatted?: boolean;
  fontSize?: number;
  style?: CSSProperties;
}

/**
 * A secret, token or command in a monospace box that selects as a whole with one click, so it
 * can be copied by hand when the clipboard is not available.
 */
export function CodeBlock({
  value,
  testId,
  actions,
  maxHeight,
  preformatted = false,
  fontSize = 13,
  style,
}: CodeBlockProps) {
  const { token } = theme.useToken();
  return (
    <Flex
      gap={8}
      align="flex-start"
      style={{
        padding: '10px 12px',
        borderRadius: token.borderRadiusLG,
        background: token.colorFillQuaternary,
        border: `1px solid ${token.colorBorderSecondary}`,
        ...style,
      }}
    >
      <div
        className="bx-mono"
        style={{
          flex: 1,
          minWidth: 0,
          fontSize,
          lineHeight: 1.6,
          maxHeight,
          overflow: maxHeight === undefined && !preformatted ? 'visible' : 'auto',
          whiteSpace: preformatted ? 'pre' : 'pre-wrap',
          wordBreak: preformatted ? 'normal' : 'break-all',
          userSelect: preformatted ? 'text' : 'all',
        }}
      >
        <span data-testid={testId}>{value}</span>
      </div>
      {actions ? <div style={{ flex: '0 0 auto' }}>{actions}</div> : null}
    </Flex>
  );
}
