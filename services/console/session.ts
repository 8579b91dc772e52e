import { randomBytes, timingSafeEqual } from 'node:crypto';

/** The console's session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it). */
export const SESSION_COOKIE = 'kpi_session';

/** A session lasts this long after login; the token behind it is checked on every request. */
export const SESSION_MS = 8 * 3_600_000;

export interface ConsoleSession {
  /** The token the person logged in with, kept in this process only: revoking it ends the session. */
  token: string;
  /** The form token every POST must carry (CSRF). */
  csrf: string;
  expiresAt: number;
}

/**
 * Console sessions, in memory: a random id in a cookie stands for a token given at login.
 * A restart logs everyone out, which is the safe way round.
 */
export function createSessions(now: () => number = Date.now): {
  open(token: string): { id: string; session: ConsoleSession };
  get(id: string | undefined): ConsoleSession | undefined;
  close(id: string | undefined): void;
} {
  const sessions = new Map<string, ConsoleSession>();
  return {
    open(token) {
      // Expired sessions go when a new one opens: the map never grows without bound.
      for (const [id, s] of sessions) if (s.expiresAt <= now()) sessions.delete(id);
      const id = randomBytes(32).toString('base64url');
      const session = { token, csrf: randomBytes(32).toString('base64url'), expiresAt: now() + SESSION_MS };
      sessions.set(id, session);
      return { id, session };
    },
    get(id) {
      const session = id === undefined ? undefined : sessions.get(id);
      if (!session || session.expiresAt <= now()) return undefined;
      return session;
    },
    close(id) {
      if (id !== undefined) sessions.delete(id);
    },
  };
}

/** Whether a form's CSRF token is the session's, compared in constant time. */
export function sameCsrf(session: ConsoleSession, given: unknown): boolean {
  if (typeof given !== 'string' || given.length !== session.csrf.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(session.csrf));
}
