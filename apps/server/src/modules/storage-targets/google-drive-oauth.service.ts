import { MASKED_SECRET, type GoogleDriveAuthUrlInput, type StorageTargetDetail } from '@backupx/contract';
import {
  GOOGLE_AUTH_URL,
  GOOGLE_TOKEN_URL,
  buildGoogleAuthUrl,
  exchangeGoogleAuthCode,
} from '@backupx/engine/storage/google-drive';
import { addMs, toIso, type Clock } from '../../lib/clock.ts';
import { randomBase64Url, type SecretBox } from '../../lib/crypto.ts';
import { AppError } from '../../lib/errors.ts';
import type { Actor } from '../auth/principal.ts';
import type { OAuthSessionsRepository } from './oauth-sessions.repository.ts';
import type { StorageTargetsService } from './storage-targets.service.ts';
import { messageOf } from './with-timeout.ts';

/** Where Google lives; tests point these at a stand-in on 127.0.0.1. */
export interface GoogleEndpoints {
  /** Consent page the browser is sent to. */
  authUrl: string;
  /** OAuth token endpoint (code exchange, refresh). */
  tokenUrl: string;
  /** Base of the Drive API (`/drive/v3/...`), stored in the target's config for its backend. */
  apiBaseUrl: string;
}

export const defaultGoogleEndpoints: GoogleEndpoints = {
  authUrl: GOOGLE_AUTH_URL,
  tokenUrl: GOOGLE_TOKEN_URL,
  apiBaseUrl: 'https://www.googleapis.com',
};

/** SPEC §4.8: an authorisation must be completed within 10 minutes. */
export const OAUTH_SESSION_TTL_MS = 10 * 60_000;
const GOOGLE_REQUEST_TIMEOUT_MS = 30_000;

export interface GoogleDriveOAuthServiceDeps {
  storageTargets: Pick<StorageTargetsService, 'readDecrypted' | 'saveWithConfig'>;
  oauthSessions: OAuthSessionsRepository;
  secretBox: SecretBox;
  clock: Clock;
  endpoints?: Partial<GoogleEndpoints>;
  fetch?: typeof fetch;
}

/** What the sealed session carries from the consent request to the callback. */
interface OAuthSessionPayload {
  /** Always `google_drive` today; checked so another provider's session is never taken for Drive. */
  providerType: string;
  targetId?: number;
  name: string;
  description: string;
  enabled: boolean;
  quotaBytes: number;
  clientId: string;
  clientSecret: string;
  folderId: string;
  redirectUri: string;
  expiresAt: string;
}

export type GoogleDriveOAuthService = ReturnType<typeof createGoogleDriveOAuthService>;

const isBlank = (value: string | undefined): boolean =>
  value === undefined || value === '' || value === MASKED_SECRET;

const stringOf = (value: unknown): string => (typeof value === 'string' ? value : '');

const stateInvalid = () =>
  new AppError(
    'STORAGE_GOOGLE_OAUTH_STATE_INVALID',
    'The Google Drive authorisation is unknown, expired or already used; start it again',
  );

export const createGoogleDriveOAuthService = (deps: GoogleDriveOAuthServiceDeps) => {
  const { storageTargets, oauthSessions, secretBox, clock } = deps;
  const endpoints: GoogleEndpoints = { ...defaultGoogleEndpoints, ...deps.endpoints };
  const doFetch = deps.fetch ?? fetch;

  const googleFailed = (what: string, error: unknown) =>
    new AppError('STORAGE_GOOGLE_API_FAILED', `Google ${what} failed: ${messageOf(error).slice(0, 300)}`, {
      cause: error,
    });

  /** Short-lived access token for a stored refresh token. */
  const accessTokenFor = async (config: Record<string, unknown>): Promise<string> => {
    const response = await doFetch(stringOf(config.tokenUrl) || endpoints.tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: stringOf(config.refreshToken),
        client_id: stringOf(config.clientId),
        client_secret: stringOf(config.clientSecret),
      }).toString(),
      signal: AbortSignal.timeout(GOOGLE_REQUEST_TIMEOUT_MS),
    });
    const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown };
    if (!response.ok || typeof body.access_token !== 'string')
      throw new Error(`token refresh answered ${response.status} ${stringOf(body.error)}`.trim());
    return body.access_token;
  };

  return {
    /**
     * Step 1 of SPEC §4.8: seals what the callback needs into a single-use session and returns the
     * consent URL. `origin` is the console's origin; Google sends the browser back to its
     * `/storage-targets/google-drive/callback` page.
     */
    async authUrl(input: GoogleDriveAuthUrlInput, origin: string): Promise<{ authUrl: string }> {
      let clientId = input.config?.clientId ?? input.clientId ?? '';
      let clientSecret = input.config?.clientSecret ?? input.clientSecret ?? '';
      let folderId = input.config?.folderId ?? input.folderId;
      if (input.targetId !== undefined) {
        const existing = await storageTargets.readDecrypted(input.targetId);
        if (existing.type !== 'google_drive')
          throw new AppError(
            'STORAGE_TARGET_TYPE_IMMUTABLE',
            `Storage target "${existing.target.name}" is ${existing.type}, not google_drive`,
          );
        if (isBlank(clientId)) clientId = stringOf(existing.config.clientId);
        if (isBlank(clientSecret)) clientSecret = stringOf(existing.config.clientSecret);
        folderId ??= stringOf(existing.config.folderId);
      }
      if (isBlank(clientId) || isBlank(clientSecret))
        throw new AppError(
          'STORAGE_TARGET_INVALID_CONFIG',
          'Google Drive needs the OAuth client ID and client secret',
        );
      const now = clock.now();
      const redirectUri = `${origin}/storage-targets/google-drive/callback`;
      const payload: OAuthSessionPayload = {
        providerType: 'google_drive',
        ...(input.targetId === undefined ? {} : { targetId: input.targetId }),
        name: input.name,
        description: input.description,
        enabled: input.enabled,
        quotaBytes: input.quotaBytes,
        clientId,
        clientSecret,
        folderId: folderId ?? '',
        redirectUri,
        expiresAt: toIso(addMs(now, OAUTH_SESSION_TTL_MS)),
      };
      const state = randomBase64Url(24);
      // Abandoned sessions are cleared here rather than by a timer: they only appear through this call.
      await oauthSessions.purgeCreatedBefore(toIso(addMs(now, -OAUTH_SESSION_TTL_MS)));
      await oauthSessions.save(state, secretBox.seal(JSON.stringify(payload)), toIso(now));
      return {
        authUrl: buildGoogleAuthUrl({ clientId, redirectUri, state, authUrl: endpoints.authUrl }),
      };
    },

    /** Steps 2–3: takes the session (single use), exchanges the code, saves the target. */
    async complete(actor: Actor, input: { state: string; code: string }): Promise<StorageTargetDetail> {
      const sealed = await oauthSessions.find(input.state);
      if (sealed === undefined) throw stateInvalid();
      let payload: OAuthSessionPayload;
      try {
        payload = JSON.parse(secretBox.open(sealed)) as OAuthSessionPayload;
      } catch {
        throw stateInvalid();
      }
      if (!(await oauthSessions.take(input.state, sealed))) throw stateInvalid();
      if (payload.providerType !== 'google_drive' || payload.expiresAt <= toIso(clock.now()))
        throw stateInvalid();

      let refreshToken: string | undefined;
      try {
        const tokens = await exchangeGoogleAuthCode({
          clientId: payload.clientId,
          clientSecret: payload.clientSecret,
          code: input.code,
          redirectUri: payload.redirectUri,
          tokenUrl: endpoints.tokenUrl,
          fetch: doFetch,
          signal: AbortSignal.timeout(GOOGLE_REQUEST_TIMEOUT_MS),
        });
        refreshToken = tokens.refreshToken;
      } catch (error) {
        throw googleFailed('code exchange', error);
      }
      if (refreshToken === undefined || refreshToken === '')
        throw new AppError(
          'STORAGE_GOOGLE_OAUTH_REFRESH_TOKEN_MISSING',
          'Google returned no refresh token; remove BackupX from the account’s third-party access and authorise again',
        );
      return storageTargets.saveWithConfig(actor, {
        ...(payload.targetId === undefined ? {} : { targetId: payload.targetId }),
        name: payload.name,
        type: 'google_drive',
        description: payload.description,
        enabled: payload.enabled,
        quotaBytes: payload.quotaBytes,
        config: {
          clientId: payload.clientId,
          clientSecret: payload.clientSecret,
          refreshToken,
          folderId: payload.folderId,
          redirectUri: payload.redirectUri,
          apiBaseUrl: endpoints.apiBaseUrl,
          tokenUrl: endpoints.tokenUrl,
        },
      });
    },

    /** Step 4: the Google account behind a Drive target (Drive `about.user`, within the drive scope). */
    async profile(targetId: number): Promise<{ email: string; name: string; picture: string }> {
      const { target, type, config } = await storageTargets.readDecrypted(targetId);
      if (type !== 'google_drive')
        throw new AppError(
          'STORAGE_PROVIDER_UNSUPPORTED',
          `Storage target "${target.name}" is ${type}, not google_drive`,
        );
      try {
        const accessToken = await accessTokenFor(config);
        const api = (stringOf(config.apiBaseUrl) || endpoints.apiBaseUrl).replace(/\/+$/, '');
        const response = await doFetch(`${api}/drive/v3/about?fields=user`, {
          headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' },
          signal: AbortSignal.timeout(GOOGLE_REQUEST_TIMEOUT_MS),
        });
        if (!response.ok) {
          await response.body?.cancel();
          throw new Error(`about answered ${response.status}`);
        }
        const body = (await response.json()) as {
          user?: { emailAddress?: unknown; displayName?: unknown; photoLink?: unknown };
        };
        return {
          email: stringOf(body.user?.emailAddress),
          name: stringOf(body.user?.displayName),
          picture: stringOf(body.user?.photoLink),
        };
      } catch (error) {
        throw googleFailed('profile request', error);
      }
    },
  };
};
