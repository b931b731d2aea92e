import { Flex, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { isApiError } from '../../api/client.ts';
import { errorText } from '../../lib/i18n-helpers.ts';

/**
 * Codes whose server message carries what the translated text cannot: the backend's answer to a
 * connection test, the tasks that use a target, the fields that are invalid.
 */
const DETAILED_CODES = new Set([
  'STORAGE_TARGET_TEST_FAILED',
  'STORAGE_TARGET_IN_USE',
  'STORAGE_TARGET_INVALID_CONFIG',
  'STORAGE_GOOGLE_API_FAILED',
  'NOTIFICATION_TEST_FAILED',
  'NOTIFICATION_INVALID',
  'INVALID_INPUT',
]);

/**
 * The translated error, plus the server's message when it adds something. `detailOnly` shows just
 * that message when there is one (under a title that already says what failed).
 */
export function ErrorDetail({ error, detailOnly = false }: { error: unknown; detailOnly?: boolean }) {
  const { t } = useTranslation();
  const text = errorText(t, error);
  const detail = isApiError(error) && DETAILED_CODES.has(error.code) ? error.message.trim() : '';
  const detailNode =
    detail !== '' && detail !== text ? (
      <Typography.Paragraph
        type={detailOnly ? undefined : 'secondary'}
        style={{ margin: 0, whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}
        data-testid="error-detail"
      >
        {detail}
      </Typography.Paragraph>
    ) : null;
  if (detailOnly && detailNode) return detailNode;
  return (
    <Flex vertical gap={6}>
      <Typography.Text>{text}</Typography.Text>
      {detailNode}
    </Flex>
  );
}
