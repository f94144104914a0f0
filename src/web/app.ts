import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import helmet from 'helmet';
import { authenticate, csrfGuard, isApi, requireAuth } from './auth.js';
import { WebContext } from './context.js';
import type { WebDeps } from './deps.js';
import { HttpError } from './http-error.js';
import { apiRouter } from './routes/api.js';
import { authRouter, logoutRouter } from './routes/auth.js';
import { eventsRouter } from './routes/events.js';
import { hostsRouter } from './routes/hosts.js';
import { overviewRouter } from './routes/overview.js';
import { sseRouter } from './routes/sse.js';
import { usersRouter } from './routes/users.js';

// src/web/app.ts and dist/web/app.js both sit two levels below the package root.
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The dashboard and JSON API as an express app that does not listen: the daemon (or a test)
 * passes it to http(s).createServer. Nothing here starts timers or touches the network
 * until a request arrives.
 */
export function createApp(deps: WebDeps): Express {
  const ctx = new WebContext(deps, { viewsDir: `${PACKAGE_ROOT}views`, publicDir: `${PACKAGE_ROOT}public` });
  const app = express();
  app.disable('x-powered-by');
  app.set('views', ctx.opts.viewsDir);
  app.set('view engine', 'ejs');
  app.set('query parser', 'simple');

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'"],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
          objectSrc: ["'none'"],
          // Only over TLS: on plain http://127.0.0.1 it would send the browser to a port with no TLS.
          ...(ctx.opts.tls ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      strictTransportSecurity: ctx.opts.tls ? { maxAge: 31_536_000, includeSubDomains: false } : false,
      // Not no-referrer: with it Chromium sends `Origin: null` on form posts, defeating the origin check.
      referrerPolicy: { policy: 'same-origin' },
      crossOriginEmbedderPolicy: true,
    }),
  );
  app.use('/static', express.static(ctx.opts.publicDir, { index: false, maxAge: '1h', fallthrough: false }));
  for (const r of deps.preAuthRouters ?? []) app.use(r);
  app.use(express.json({ limit: '16kb', strict: true }));
  app.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 1100 }));
  app.use(authenticate(ctx));

  app.use(authRouter(ctx));
  app.use(requireAuth(ctx));
  app.use(csrfGuard(ctx));
  // Behind sign-in and CSRF: a new page or API area is one more entry in this list.
  const routers: Router[] = [
    logoutRouter(ctx),
    overviewRouter(ctx),
    hostsRouter(ctx),
    eventsRouter(ctx),
    sseRouter(ctx),
    apiRouter(ctx),
  ];
  if (deps.users) routers.push(usersRouter(ctx, deps.users));
  for (const r of routers) app.use(r);

  app.use(() => {
    throw new HttpError(404, 'not found');
  });
  app.use(errorHandler(ctx));
  return app;
}

/** Body-parser and static errors carry a status and a type; map the ones clients cause. */
function clientError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { status?: unknown; type?: unknown };
  if (e.type === 'entity.parse.failed') return new HttpError(400, 'malformed JSON body');
  if (e.type === 'entity.too.large') return new HttpError(413, 'request body too large');
  if (e.type === 'parameters.too.many') return new HttpError(413, 'too many form fields');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new HttpError(e.status, e.status === 404 ? 'not found' : 'bad request');
  }
  return null;
}

function errorHandler(ctx: WebContext): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    let he = clientError(err);
    if (!he) {
      ctx.log.error(
        {
          err:
            err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
          method: req.method,
          path: req.path,
        },
        'request failed',
      );
      he = new HttpError(500, 'internal error');
    }
    res.status(he.status).set(he.headers).set('Cache-Control', 'no-store');
    if (isApi(req) || (req.accepts(['html', 'json']) === 'json' && !req.accepts('html'))) {
      res.json({ error: he.message });
      return;
    }
    res.render('pages/error', {
      ...ctx.page(req, res, `Error ${he.status}`, ''),
      status: he.status,
      message: he.message,
    });
  };
}
