import { Router, type Request, type Response } from 'express';
import { LOGIN_COOKIE, SESSION_COOKIE, type WebContext } from '../context.js';
import { parseCookies, serializeCookie } from '../cookies.js';
import { checkOrigin, safeNext, sameString } from '../auth.js';
import { HttpError } from '../http-error.js';
import { verifyAgainstNothing, verifyPassword } from '../password.js';

const MAX_USERNAME = 64;
const MAX_PASSWORD = 1024;

/**
 * Login and logout. The login form has no session yet, so its CSRF defence is a
 * double-submit token: a random value in an HttpOnly cookie that the form must repeat.
 */
export function authRouter(ctx: WebContext): Router {
  const r = Router();

  function renderLogin(
    req: Request,
    res: Response,
    status: number,
    error: string | null,
    username = '',
  ): void {
    const token = ctx.deps.random.bytes(24).toString('base64url');
    res.status(status);
    res.set('Cache-Control', 'no-store');
    res.append(
      'Set-Cookie',
      serializeCookie(LOGIN_COOKIE, token, { httpOnly: true, secure: ctx.secure(req), maxAgeSeconds: 3600 }),
    );
    res.render('pages/login', {
      title: 'Sign in',
      nav: 'login',
      username: null,
      csrf: '',
      flash: null,
      loginToken: token,
      next: safeNext(
        req.method === 'GET'
          ? req.query['next']
          : (req.body as Record<string, unknown> | undefined)?.['next'],
      ),
      error,
      formUsername: username,
    });
  }

  r.get('/login', (req, res) => {
    if (ctx.auth(req)?.kind === 'session') {
      res.redirect(303, safeNext(req.query['next']));
      return;
    }
    renderLogin(req, res, 200, null);
  });

  r.post('/login', async (req, res) => {
    checkOrigin(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const sent = typeof body['_csrf'] === 'string' ? body['_csrf'] : '';
    const cookie = parseCookies(req.get('cookie')).get(LOGIN_COOKIE) ?? '';
    if (!sameString(sent, cookie))
      throw new HttpError(403, 'the sign-in form expired; reload the page and try again');

    const username = typeof body['username'] === 'string' ? body['username'].trim() : '';
    const password = typeof body['password'] === 'string' ? body['password'] : '';
    if (!username || !password || username.length > MAX_USERNAME || password.length > MAX_PASSWORD) {
      renderLogin(req, res, 400, 'Enter a username and a password.', username.slice(0, MAX_USERNAME));
      return;
    }
    const now = ctx.deps.clock.now();
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const userKey = username.toLowerCase();
    const wait = Math.max(ctx.ipLimiter.blockedFor(ip, now), ctx.userLimiter.blockedFor(userKey, now));
    if (wait > 0) {
      ctx.log.warn({ ip, user: username }, 'login rate-limited');
      res.set('Retry-After', String(Math.ceil(wait / 1000)));
      renderLogin(
        req,
        res,
        429,
        `Too many failed sign-ins. Try again in ${Math.ceil(wait / 60_000)} minute(s).`,
        username,
      );
      return;
    }

    const account = await ctx.deps.admins.getAdmin(username);
    let ok = false;
    if (account) ok = await verifyPassword(password, account.passwordHash);
    else await verifyAgainstNothing(password);
    if (!ok) {
      ctx.ipLimiter.hit(ip, now);
      ctx.userLimiter.hit(userKey, now);
      ctx.log.warn({ ip, user: username }, 'login failed');
      renderLogin(req, res, 401, 'Wrong username or password.', username);
      return;
    }

    ctx.userLimiter.reset(userKey);
    const { id } = ctx.sessions.create(account!.username);
    ctx.log.info({ ip, user: account!.username }, 'login');
    res.append(
      'Set-Cookie',
      serializeCookie(SESSION_COOKIE, id, { httpOnly: true, secure: ctx.secure(req) }),
    );
    res.append(
      'Set-Cookie',
      serializeCookie(LOGIN_COOKIE, '', { httpOnly: true, secure: ctx.secure(req), maxAgeSeconds: 0 }),
    );
    res.redirect(303, safeNext(body['next']));
  });

  return r;
}

/** Mounted behind authentication and the CSRF guard. */
export function logoutRouter(ctx: WebContext): Router {
  const r = Router();
  r.post('/logout', (req, res) => {
    const a = ctx.mustAuth(req);
    if (a.kind === 'session') {
      ctx.sessions.destroy(a.session);
      ctx.log.info({ user: a.username }, 'logout');
    }
    res.append(
      'Set-Cookie',
      serializeCookie(SESSION_COOKIE, '', { httpOnly: true, secure: ctx.secure(req), maxAgeSeconds: 0 }),
    );
    res.redirect(303, '/login');
  });
  return r;
}
