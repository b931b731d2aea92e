import { App, Alert, Button, Form, Input, Modal } from 'antd';
import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import { apiCall } from '../api/client.ts';
import { errorCode, errorText } from '../lib/i18n-helpers.ts';

interface PasswordForm {
  oldPassword: string;
  newPassword: string;
  confirmPassword: string;
}

/** Changes the password of the signed-in user; other sessions are signed out by the server. */
export function ChangePasswordModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<PasswordForm>();

  const change = useMutation({
    mutationFn: (values: PasswordForm) =>
      apiCall(apiRoutes.auth.changePassword, {
        body: { oldPassword: values.oldPassword, newPassword: values.newPassword },
      }),
    onSuccess: () => {
      void message.success(t('account.password.success'));
      form.resetFields();
      onClose();
    },
    onError: (error) => {
      if (errorCode(error) === 'AUTH_WRONG_PASSWORD') {
        form.setFields([{ name: 'oldPassword', errors: [errorText(t, error)] }]);
      } else {
        void message.error(errorText(t, error));
      }
    },
  });

  const close = () => {
    form.resetFields();
    change.reset();
    onClose();
  };

  return (
    <Modal
      open={open}
      title={t('account.password.title')}
      onCancel={close}
      forceRender
      footer={[
        <Button key="cancel" onClick={close}>
          {t('common.cancel')}
        </Button>,
        <Button
          key="submit"
          type="primary"
          loading={change.isPending}
          onClick={() => form.submit()}
          data-testid="password-submit"
        >
          {t('account.password.submit')}
        </Button>,
      ]}
    >
      <Alert type="info" showIcon title={t('account.password.description')} style={{ marginBottom: 16 }} />
      <Form<PasswordForm>
        form={form}
        layout="vertical"
        requiredMark={false}
        onFinish={(values) => change.mutate(values)}
      >
        <Form.Item
          name="oldPassword"
          label={t('account.password.oldPassword')}
          rules={[{ required: true, message: t('auth.passwordRequired') }]}
        >
          <Input.Password autoComplete="current-password" data-testid="password-old" />
        </Form.Item>
        <Form.Item
          name="newPassword"
          label={t('account.password.newPassword')}
          dependencies={['oldPassword']}
          rules={[
            { required: true, message: t('auth.passwordRequired') },
            { min: 8, max: 128, message: t('auth.passwordLength') },
            ({ getFieldValue }) => ({
              validator: (_rule, value: string | undefined) =>
                value && value === getFieldValue('oldPassword')
                  ? Promise.reject(new Error(t('account.password.samePassword')))
                  : Promise.resolve(),
            }),
          ]}
        >
          <Input.Password
            autoComplete="new-password"
            placeholder={t('auth.newPasswordPlaceholder')}
            data-testid="password-new"
          />
        </Form.Item>
        <Form.Item
          name="confirmPassword"
          label={t('account.password.confirmPassword')}
          dependencies={['newPassword']}
          rules={[
            { required: true, message: t('auth.passwordRequired') },
            ({ getFieldValue }) => ({
              validator: (_rule, value: string | undefined) =>
                !value || value === getFieldValue('newPassword')
                  ? Promise.resolve()
                  : Promise.reject(new Error(t('auth.passwordMismatch'))),
            }),
          ]}
        >
          <Input.Password autoComplete="new-password" data-testid="password-confirm" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
