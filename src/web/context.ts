import type { Request, Response } from 'express';
import type { Logger } from '../core/ports.js';
import type { WebDeps, WebOptions } from './deps.js';
import { RateLimiter } from './rate-limit.js';
import type { Session } from './sessions.js';
import { SessionStore } from './sessions.js';

export const DEFAULT_OPTIONS: Omit<WebOptions, 'viewsDir' | 'publicDir'> = {
  tls: false,
  sessionIdleMs: 30 * 60_000,
  sessionMaxAgeMs: 12 * 3_600_000,
  maxSessions: 1000,
  loginMaxPerIp: 20,
  loginMaxPerUser: 5,
  loginWindowMs: 15 * 60_000,
  maxExtendSeconds: 7 * 86_400,
};

export const SESSION_COOKIE = 'sg_session';
export const LOGIN_COOKIE = 'sg_login';

/** Who made a request: an admin with a browser session, or an API token. */
export type Auth =
  | { kind: 'session'; username: string; session: Session }
  | { kind: 'token'; username: string; tokenId: string };

/** Everything the routers share; built once per app. */
export class WebContext {
  readonly opts: WebOptions;
  readonly sessions: SessionStore;
  readonly ipLimiter: RateLimiter;
  readonly userLimiter: RateLimiter;
  readonly log: Logger;
  private readonly auths = new WeakMap<Request, Auth>();

  constructor(
    readonly deps: WebDeps,
    defaults: Pick<WebOptions, 'viewsDir' | 'publicDir'>,
  ) {
    this.opts = { ...DEFAULT_OPTIONS, ...defaults, ...deps.options };
    this.sessions = new SessionStore(
      deps.clock,
      deps.random,
      this.opts.sessionIdleMs,
      this.opts.sessionMaxAgeMs,
      this.opts.maxSessions,
    );
    this.ipLimiter = new RateLimiter(this.opts.loginMaxPerIp, this.opts.loginWindowMs);
    this.userLimiter = new RateLimiter(this.opts.loginMaxPerUser, this.opts.loginWindowMs);
    this.log = deps.logger.child({ component: 'web' });
  }

  setAuth(req: Request, a: Auth): void {
    this.auths.set(req, a);
  }

  auth(req: Request): Auth | null {
    return this.auths.get(req) ?? null;
  }

  /** For handlers behind `requireAuth`: the auth is known to be there. */
  mustAuth(req: Request): Auth {
    const a = this.auths.get(req);
    if (!a) throw new Error('route reached without authentication');
    return a;
  }

  /** The name recorded with admin actions: the username, or `token:<id>` for API tokens. */
  actor(req: Request): string {
    const a = this.mustAuth(req);
    return a.kind === 'session' ? a.username : `token:${a.tokenId}`;
  }

  secure(req: Request): boolean {
    return this.opts.tls || req.secure;
  }

  /** Common fields of every page's view model. */
  page(req: Request, _res: Response, title: string, nav: string): PageBase {
    const a = this.auth(req);
    const session = a?.kind === 'session' ? a.session : null;
    const flash = session?.flash ?? null;
    if (session) session.flash = null;
    return { title, nav, username: a?.username ?? null, csrf: session?.csrf ?? '', flash };
  }
}

export interface PageBase {
  title: string;
  nav: string;
  username: string | null;
  csrf: string;
  flash: { kind: 'ok' | 'error'; text: string } | null;
}
