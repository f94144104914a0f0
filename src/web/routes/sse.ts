import { Router } from 'express';
import type { WebContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { grantJson } from '../view-models/grant.js';

/** Open streams at most: each holds a socket and a listener. */
export const MAX_STREAMS = 64;
const HEARTBEAT_MS = 20_000;

/**
 * `GET /api/live`: server-sent events. Each grant change is one `grant` event whose data is
 * `{"type": "...", "grant": GrantJson}`. A comment line every 20 s keeps proxies from closing
 * the stream, and a stream whose session has ended is closed at the next heartbeat.
 */
export function sseRouter(ctx: WebContext): Router {
  const r = Router();
  let open = 0;

  r.get('/api/live', (req, res) => {
    if (open >= MAX_STREAMS) throw new HttpError(503, 'too many live streams');
    const auth = ctx.mustAuth(req);
    open += 1;
    res.status(200);
    res.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 3000\n\nevent: hello\ndata: {}\n\n');

    const unsubscribe = ctx.deps.control.subscribe((change) => {
      const data = JSON.stringify({
        type: change.type,
        grant: grantJson({ grant: change.grant, hostname: change.hostname ?? null }, ctx.deps.clock.now()),
      });
      res.write(`event: grant\ndata: ${data}\n\n`);
    });
    const heartbeat = setInterval(() => {
      if (auth.kind === 'session' && !ctx.sessions.isLive(auth.session)) {
        res.end();
        return;
      }
      res.write(': ping\n\n');
    }, HEARTBEAT_MS);
    heartbeat.unref();

    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      open -= 1;
      clearInterval(heartbeat);
      unsubscribe();
    };
    res.on('close', close);
    req.on('close', close);
  });

  return r;
}
