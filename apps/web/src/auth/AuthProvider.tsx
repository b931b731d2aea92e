import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { App } from 'antd';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { UserOutput } from '@backupx/contract';
import { apiCall, onUnauthorized } from '../api/client.ts';
import { clearToken, readToken, storeToken } from '../api/token.ts';
import { errorText } from '../lib/i18n-helpers.ts';

export type AuthStatus = 'loading' | 'anonymous' | 'authenticated' | 'error';

interface AuthContextValue {
  status: AuthStatus;
  /** The signed-in user (status `authenticated`). */
  user: UserOutput | null;
  /** Why the session could not be restored (status `error`). */
  error: unknown;
  /** Starts a session from a login or setup answer. */
  signIn: (session: { token: string; user: UserOutput }) => void;
  /** Revokes the token on the server (best effort) and forgets it. */
  signOut: () => Promise<void>;
  /** Replaces the cached profile after a change (2FA, display name). */
  setUser: (user: UserOutput) => void;
  /** Reloads the profile from the server. */
  refresh: () => void;
}

const AuthContext = createContext<AuthContextValue | null>(null);

const profileKey = (token: string | null) => ['profile', token] as const;

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const { t } = useTranslation();
  const [token, setToken] = useState<string | null>(readToken);
  const tokenRef = useRef(token);

  const profile = useQuery({
    queryKey: profileKey(token),
    queryFn: ({ signal }) => apiCall(apiRoutes.auth.profile, { signal }),
    enabled: token !== null,
    staleTime: Number.POSITIVE_INFINITY,
  });

  // A 401 on any authenticated call ends the session; the guard then shows /login.
  useEffect(
    () =>
      onUnauthorized((error) => {
        if (tokenRef.current === null) return;
        tokenRef.current = null;
        setToken(null);
        queryClient.clear();
        void message.warning(errorText(t, error));
      }),
    [queryClient, message, t],
  );

  const signIn = useCallback(
    (session: { token: string; user: UserOutput }) => {
      storeToken(session.token);
      queryClient.clear();
      queryClient.setQueryData(profileKey(session.token), session.user);
      tokenRef.current = session.token;
      setToken(session.token);
    },
    [queryClient],
  );

  const signOut = useCallback(async () => {
    if (tokenRef.current !== null) {
      try {
        await apiCall(apiRoutes.auth.logout);
      } catch {
        // The token is forgotten anyway; an unreachable server must not keep the user signed in.
      }
    }
    clearToken();
    tokenRef.current = null;
    setToken(null);
    queryClient.clear();
  }, [queryClient]);

  const setUser = useCallback(
    (user: UserOutput) => {
      queryClient.setQueryData(profileKey(tokenRef.current), user);
    },
    [queryClient],
  );

  const { refetch } = profile;
  const refresh = useCallback(() => {
    void refetch();
  }, [refetch]);

  let status: AuthStatus;
  if (token === null) status = 'anonymous';
  else if (profile.data) status = 'authenticated';
  else if (profile.isError) status = 'error';
  else status = 'loading';

  const user = token !== null ? (profile.data ?? null) : null;
  const error = profile.error;
  const value = useMemo(
    () => ({ status, user, error, signIn, signOut, setUser, refresh }),
    [status, user, error, signIn, signOut, setUser, refresh],
  );
  return <AuthContext value={value}>{children}</AuthContext>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth must be used inside <AuthProvider>');
  return value;
}

/** The signed-in user; only for components rendered behind the auth guard. */
export function useCurrentUser(): UserOutput {
  const { user } = useAuth();
  if (!user) throw new Error('useCurrentUser used outside an authenticated route');
  return user;
}
