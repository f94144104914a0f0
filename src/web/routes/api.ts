import { Router } from 'express';
import type { WebContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { jsonObject, parseEventQuery, parseGrantId, parseSeconds } from '../validate.js';
import { eventJson } from '../view-models/event.js';
import { grantJson } from '../view-models/grant.js';
import { healthJson } from '../view-models/overview.js';
import { loadEvents } from './events.js';
import { loadOverview } from './overview.js';

/** The JSON API under /api; see docs/dashboard.md for the shapes. */
export function apiRouter(ctx: WebContext): Router {
  const r = Router();

  r.get('/api/grants', async (_req, res) => {
    const now = ctx.deps.clock.now();
    const live = await ctx.deps.control.listGrants();
    res.json({
      grants: live.map((l) => grantJson(l, now)).sort((a, b) => a.expires_at.localeCompare(b.expires_at)),
    });
  });

  r.post('/api/grants/:id/revoke', async (req, res) => {
    const id = parseGrantId(req.params['id']);
    const ok = await ctx.deps.control.revoke(id, ctx.actor(req));
    ctx.log.info({ user: ctx.actor(req), grantId: id, ok }, 'revoke');
    if (!ok) throw new HttpError(404, 'no live grant with this id');
    res.json({ id, revoked: true });
  });

  r.post('/api/grants/:id/extend', async (req, res) => {
    const id = parseGrantId(req.params['id']);
    const seconds = parseSeconds(jsonObject(req.body)['seconds'], ctx.opts.maxExtendSeconds, false);
    const g = await ctx.deps.control.extend(id, seconds, ctx.actor(req));
    ctx.log.info({ user: ctx.actor(req), grantId: id, seconds, ok: g !== null }, 'extend');
    if (!g) throw new HttpError(404, 'no live grant with this id');
    const now = ctx.deps.clock.now();
    const live = (await ctx.deps.control.listGrants()).find((l) => l.grant.id === id);
    res.json({ grant: grantJson(live ?? { grant: g }, now) });
  });

  r.get('/api/events', async (req, res) => {
    const filter = parseEventQuery(req.query);
    const { events, nextBefore } = await loadEvents(ctx, filter);
    res.json({ events: events.map(eventJson), next_before: nextBefore });
  });

  r.get('/api/health', async (_req, res) => {
    const live = await ctx.deps.control.listGrants();
    res.json(healthJson(ctx.deps.control.health(), live.length, ctx.deps.clock.now()));
  });

  r.get('/api/overview', async (_req, res) => {
    res.json(await loadOverview(ctx, ctx.deps.clock.now()));
  });

  return r;
}
