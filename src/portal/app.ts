import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Grant } from '../core/model.js';
import type { Logger } from '../core/ports.js';
import { captiveApiObject, clientStatus, formatDuration, knockCommands, rcStanzaName, safeStanzaName } from '../core/portal.js';
import type { EnrollmentRedeemer } from '../users/enrollment.js';

// src/portal/app.ts and dist/portal/app.js both sit two levels below the package root.
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface PortalDeps {
  /** The gateway's live grants: the state the firewall rules are built from. */
  grants(): readonly Grant[];
  now(): number;
  /** MAC of a LAN address (neighbour table, then DHCP lease); null when unknown. */
  macFor(ip: string): Promise<string | null>;
  /** Hostname from the DHCP lease (untrusted text), or null. */
  hostnameFor?(ip: string): string | null;
  /** Absolute URL of the portal's front page, e.g. `http://10.0.0.1:8081/`. */
  portalUrl: string;
  /** Hosts (`host[:port]`) that are the portal itself; any other Host header is a captured request. */
  portalHosts: readonly string[];
  /** Present when users can enroll here. */
  redeemer?: EnrollmentRedeemer | null;
  /** With an HTTPS listener: plain-HTTP pages (not the API) redirect to `portalUrl`. */
  httpsOnly?: boolean;
  /** The gateway's LAN address for the commands shown, when known. */
  gatewayIp?: string | null;
  logger: Logger;
}

export const CAPTIVE_API_PATH = '/api/captive';

function clientIp(req: Request): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

/** Served over TLS: directly, since the portal trusts no proxy headers. */
function isTls(req: Request): boolean {
  return 'encrypted' in req.socket && req.socket.encrypted === true;
}

/**
 * The captive portal as an express app that does not listen. It has no admin function:
 * every page is about the requesting client, found by its source address. Requests for
 * any other host (HTTP the firewall redirected here) get a 302 to the portal, the answer
 * captive-portal detectors of phones and laptops follow; non-GET ones get 511.
 */
export function createPortalApp(deps: PortalDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('views', `${PACKAGE_ROOT}views/portal`);
  app.set('view engine', 'ejs');
  app.set('query parser', 'simple');
  app.set('trust proxy', false);
  const portalHosts = new Set(deps.portalHosts.map((h) => h.toLowerCase()));
  const apiUrl = new URL(CAPTIVE_API_PATH, deps.portalUrl).toString();

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
        },
      },
      strictTransportSecurity: false,
      referrerPolicy: { policy: 'same-origin' },
    }),
  );

  app.get(CAPTIVE_API_PATH, (req, res, next) => {
    void (async () => {
      const ip = clientIp(req);
      const status = clientStatus(deps.grants(), { ip, mac: await deps.macFor(ip) }, deps.now());
      res.set('Cache-Control', 'private, no-store');
      res.type('application/captive+json').send(JSON.stringify(captiveApiObject(status, deps.portalUrl)));
    })().catch(next);
  });

  // Captured traffic: anything addressed to another host goes to the portal.
  app.use((req, res, next) => {
    const host = (req.get('host') ?? '').toLowerCase();
    if (portalHosts.has(host) && (!deps.httpsOnly || isTls(req))) {
      next();
      return;
    }
    res.set('Cache-Control', 'no-store');
    if (req.method === 'GET' || req.method === 'HEAD') {
      res.redirect(302, deps.portalUrl);
      return;
    }
    res.status(511).type('html').send(`<!doctype html><title>Network Authentication Required</title><p>Sign in at <a href="${deps.portalUrl}">${deps.portalUrl}</a>.</p>`);
  });

  app.get('/favicon.ico', (_req, res) => {
    res.status(204).end();
  });
  app.use('/static', express.static(`${PACKAGE_ROOT}public/portal`, { index: false, maxAge: '1h', fallthrough: false }));
  app.use(express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 5 }));

  app.get('/', (req, res, next) => {
    void (async () => {
      const ip = clientIp(req);
      const mac = await deps.macFor(ip);
      const status = clientStatus(deps.grants(), { ip, mac }, deps.now());
      const name = safeStanzaName(status.grant?.user ?? null);
      res.set('Cache-Control', 'private, no-store');
      res.render('status', {
        title: status.online ? 'Online' : 'Not online yet',
        tls: isTls(req),
        ip,
        mac,
        hostname: deps.hostnameFor?.(ip) ?? null,
        online: status.online,
        secondsRemaining: status.secondsRemaining,
        timeLeft: formatDuration(status.secondsRemaining),
        expiresAt: status.grant ? new Date(status.grant.expiresAt).toISOString() : null,
        user: status.grant?.user ?? null,
        stanzaName: name ?? 'NAME',
        commands: knockCommands(name ?? 'NAME'),
        gatewayIp: deps.gatewayIp ?? null,
        apiUrl,
        canEnroll: Boolean(deps.redeemer),
      });
    })().catch(next);
  });

  app.get('/enroll', (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.render('enroll', { title: 'Enroll this device', tls: isTls(req), canEnroll: Boolean(deps.redeemer), error: null });
  });

  app.post('/enroll', (req, res, next) => {
    void (async () => {
      res.set('Cache-Control', 'no-store');
      const tls = isTls(req);
      if (!sameOrigin(req)) {
        res.status(403).render('enroll', { title: 'Enroll this device', tls, canEnroll: Boolean(deps.redeemer), error: 'The form came from another site.' });
        return;
      }
      if (!deps.redeemer) {
        res.status(503).render('enroll', { title: 'Enroll this device', tls, canEnroll: false, error: null });
        return;
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      const code = typeof body.code === 'string' ? body.code : '';
      const ip = clientIp(req);
      const r = await deps.redeemer.redeem(code, { ip, mac: await deps.macFor(ip) });
      if ('error' in r) {
        res.status(400).render('enroll', { title: 'Enroll this device', tls, canEnroll: true, error: r.error });
        return;
      }
      const name = safeStanzaName(rcStanzaName(r.fwknoprc)) ?? safeStanzaName(r.user) ?? 'NAME';
      res.render('enrolled', {
        title: 'Your access stanza',
        tls,
        user: r.user,
        fwknoprc: r.fwknoprc,
        qr: r.qrPngDataUrl.startsWith('data:image/png;base64,') ? r.qrPngDataUrl : null,
        // octet-stream: with text/plain browsers append .txt to the name.
        download: `data:application/octet-stream;base64,${Buffer.from(r.fwknoprc, 'utf8').toString('base64')}`,
        fileName: `fwknoprc-${name}`,
        commands: knockCommands(name),
      });
    })().catch(next);
  });

  app.use((_req, res) => {
    res.status(404).type('text').send('not found');
  });
  app.use(errorHandler(deps.logger));
  return app;
}

/** A browser's form post names its origin; one from another site is refused. */
function sameOrigin(req: Request): boolean {
  const origin = req.get('origin');
  if (origin === undefined || origin === 'null') return origin === undefined;
  try {
    return new URL(origin).host.toLowerCase() === (req.get('host') ?? '').toLowerCase();
  } catch {
    return false;
  }
}

function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res: Response, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const e = err as { status?: unknown; type?: unknown };
    const status = typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
    if (status === 500) log.error({ err: err instanceof Error ? { name: err.name, message: err.message } : String(err), path: req.path }, 'portal request failed');
    res.status(status).set('Cache-Control', 'no-store').type('text').send(status === 500 ? 'internal error' : 'bad request');
  };
}
