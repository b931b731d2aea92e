/**
 * Stable error codes. Clients branch on HTTP status + `code`, never on `message`.
 * A code is never renamed or reused; docs/errors.md is generated from this table.
 */
export const errorCatalog = {
  INVALID_INPUT: { status: 400, description: 'The request body, query or path failed validation.' },
  INVALID_JSON: { status: 400, description: 'The request body is not well-formed JSON.' },
  INVALID_ID: { status: 400, description: 'A path id is not an integer between 1 and 4294967295.' },
  NOT_FOUND: { status: 404, description: 'No route or resource matches the request.' },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'The request body exceeds the size limit of the route.' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'The request body has a content type the route does not accept.',
  },
  INTERNAL_ERROR: {
    status: 500,
    description: 'An unexpected server error; details are logged, never returned.',
  },
  SERVICE_UNAVAILABLE: { status: 503, description: 'A dependency (database) is not reachable.' },

  AUTH_REQUIRED: { status: 401, description: 'No credentials were sent.' },
  AUTH_INVALID_TOKEN: { status: 401, description: 'The JWT or API key is invalid, expired or revoked.' },
  AUTH_FORBIDDEN: { status: 403, description: 'The authenticated role may not use this route.' },
  AUTH_INVALID_CREDENTIALS: { status: 401, description: 'Unknown user or wrong password.' },
  AUTH_USER_DISABLED: { status: 401, description: 'The account is disabled.' },
  AUTH_2FA_REQUIRED: { status: 401, description: 'The account has a second factor; send `twoFactorCode`.' },
  AUTH_2FA_INVALID: { status: 401, description: 'The second-factor code is wrong or already used.' },
  AUTH_2FA_ALREADY_ENABLED: { status: 409, description: 'TOTP is already enabled for this account.' },
  AUTH_2FA_NOT_ENABLED: { status: 400, description: 'TOTP is not enabled for this account.' },
  AUTH_2FA_SETUP_REQUIRED: { status: 400, description: 'Call /api/auth/2fa/setup before enabling TOTP.' },
  AUTH_RATE_LIMITED: {
    status: 429,
    description: 'Too many login attempts from this client IP; wait a minute.',
  },
  AUTH_SETUP_DISABLED: { status: 409, description: 'The first administrator already exists.' },
  AUTH_WRONG_PASSWORD: { status: 400, description: 'The current password is wrong.' },
  AUTH_KEY_DISABLED: { status: 401, description: 'The API key is disabled.' },
  AUTH_KEY_EXPIRED: { status: 401, description: 'The API key has expired.' },
  AUTH_USER_SESSION_REQUIRED: {
    status: 403,
    description: 'The route acts on a signed-in user; API keys cannot call it.',
  },

  USER_NOT_FOUND: { status: 404, description: 'No user with this id.' },
  USER_USERNAME_EXISTS: { status: 409, description: 'Another user has this username.' },
  USER_LAST_ADMIN: {
    status: 400,
    description: 'The last enabled administrator cannot be deleted, demoted or disabled.',
  },
  USER_DELETE_SELF: { status: 400, description: 'You cannot delete your own account.' },

  API_KEY_NOT_FOUND: { status: 404, description: 'No API key with this id.' },

  AUDIT_FILTER_INVALID: { status: 400, description: 'An audit filter (date range, paging) is invalid.' },

  SETTINGS_INVALID: { status: 400, description: 'A setting key is unknown or its value is invalid.' },
} as const satisfies Record<string, { status: number; description: string }>;

/** Every stable error code. */
export type ErrorCode = keyof typeof errorCatalog;

/** Body of every error response. `details` carries field-level validation problems when useful. */
export interface ErrorBody {
  code: string;
  message: string;
  details?: { path: string; message: string }[];
}
