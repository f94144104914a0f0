import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { parseCookies } from './cookies.js';
import { SESSION_COOKIE, type WebContext } from './context.js';
import { HttpError } from './http-error.js';
import { hashToken, TOKEN_PREFIX } from './tokens.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isApi(req: Request): boolean {
  return req.path === '/api' || req.path.startsWith('/api/');
}

export function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/**
 * Finds who is asking. API paths accept `Authorization: Bearer <token>`; a bearer header that
 * does not name a live token is refused outright rather than falling back to the cookie, so a
 * script with a revoked token fails loudly.
 */
export function authenticate(ctx: WebContext): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (header !== undefined && isApi(req)) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m || !m[1].startsWith(TOKEN_PREFIX) || m[1].length > 200)
        throw unauthorized('invalid bearer token');
      const token = await ctx.deps.admins.findTokenByHash(hashToken(m[1]));
      if (!token || token.revokedAt !== null) throw unauthorized('invalid bearer token');
      ctx.setAuth(req, { kind: 'token', username: `token:${token.label || token.id}`, tokenId: token.id });
      next();
      return;
    }
    const session = ctx.sessions.get(parseCookies(req.get('cookie')).get(SESSION_COOKIE));
    if (session) ctx.setAuth(req, { kind: 'session', username: session.username, session });
    next();
  };
}

function unauthorized(msg: string): HttpError {
  return new HttpError(401, msg, { 'WWW-Authenticate': 'Bearer realm="spagate"' });
}

/** Pages redirect to the login form; the API answers 401. */
export function requireAuth(ctx: WebContext): RequestHandler {
  return (req, res, next) => {
    if (ctx.auth(req)) {
      res.set('Cache-Control', 'no-store');
      next();
      return;
    }
    if (isApi(req)) throw unauthorized('authentication required');
    const target = req.method === 'GET' ? req.originalUrl : '/';
    res.redirect(303, `/login?next=${encodeURIComponent(target)}`);
  };
}

/**
 * Every state change made with a session cookie must carry the session's CSRF token, in the
 * `X-CSRF-Token` header (scripts) or the `_csrf` form field. Bearer requests are exempt: a
 * browser never adds that header on its own. A cross-origin `Origin` is refused as well.
 */
export function csrfGuard(ctx: WebContext): RequestHandler {
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    checkOrigin(req);
    const a = ctx.auth(req);
    if (a?.kind !== 'session') return next();
    const body: unknown = req.body;
    const fromBody = typeof body === 'object' && body !== null && '_csrf' in body ? body._csrf : undefined;
    const sent = req.get('x-csrf-token') ?? (typeof fromBody === 'string' ? fromBody : '');
    if (!sameString(sent, a.session.csrf)) throw new HttpError(403, 'missing or wrong CSRF token');
    next();
  };
}

export function checkOrigin(req: Request): void {
  const origin = req.get('origin');
  // Browsers send Origin on every POST; its absence means a non-browser client or an old one.
  if (origin === undefined) return;
  const host = req.get('host');
  if (!host || origin !== `${req.protocol}://${host}`)
    throw new HttpError(403, 'cross-origin request refused');
}

/** Only same-site relative paths, so `next` cannot send a user elsewhere after login. */
export function safeNext(next: unknown): string {
  if (
    typeof next !== 'string' ||
    !next.startsWith('/') ||
    next.startsWith('//') ||
    next.startsWith('/\\') ||
    next.length > 512
  )
    return '/';
  if (next.startsWith('/login') || next.startsWith('/api/')) return '/';
  return next;
}
