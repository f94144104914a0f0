import { Router, type Request, type RequestHandler } from 'express';
import type { AdminStore } from '../core/ports.js';
import { PROMETHEUS_CONTENT_TYPE } from '../prometheus-text.js';
import { hashToken, TOKEN_PREFIX } from './tokens.js';

export interface MetricsSource {
  render(): string;
}

export interface MetricsRouteOptions {
  /**
   * When given, a scrape must send `Authorization: Bearer <token>` with a live API token
   * (`spagate admin token create`); Prometheus sends it with `authorization: { credentials }`.
   * Without it the endpoint is open to whoever reaches the dashboard listener, which is
   * 127.0.0.1 by default.
   */
  tokens?: Pick<AdminStore, 'findTokenByHash'> | null;
}

/**
 * `GET /metrics` in the Prometheus text format. Mount it on the dashboard app before the
 * session middleware: it has its own (token) authentication and never uses cookies, so it
 * needs no CSRF protection and does not redirect to the login page.
 */
export function metricsRouter(metrics: MetricsSource, o: MetricsRouteOptions = {}): Router {
  const r = Router();
  const handler: RequestHandler = async (req, res) => {
    if (o.tokens && !(await tokenOk(req, o.tokens))) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer realm="spagate-metrics"')
        .type('text/plain')
        .send('authentication required\n');
      return;
    }
    res
      .status(200)
      .set('Content-Type', PROMETHEUS_CONTENT_TYPE)
      .set('Cache-Control', 'no-store')
      .send(metrics.render());
  };
  r.get('/metrics', handler);
  return r;
}

async function tokenOk(req: Request, tokens: Pick<AdminStore, 'findTokenByHash'>): Promise<boolean> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
  if (!m || !m[1].startsWith(TOKEN_PREFIX) || m[1].length > 200) return false;
  const t = await tokens.findTokenByHash(hashToken(m[1]));
  return t !== null && t.revokedAt === null;
}
