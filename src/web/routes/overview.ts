import { Router } from 'express';
import type { WebContext } from '../context.js';
import {
  OVERVIEW_WINDOW_MS,
  overviewJson,
  overviewView,
  type OverviewJson,
} from '../view-models/overview.js';

export async function loadOverview(ctx: WebContext, now: number): Promise<OverviewJson> {
  const [counts, live] = await Promise.all([
    ctx.deps.events.eventCounts(now - OVERVIEW_WINDOW_MS),
    ctx.deps.control.listGrants(),
  ]);
  return overviewJson(counts, live.length, ctx.deps.control.health(), now);
}

export function overviewRouter(ctx: WebContext): Router {
  const r = Router();
  r.get('/', async (req, res) => {
    const now = ctx.deps.clock.now();
    const o = await loadOverview(ctx, now);
    res.render('pages/overview', {
      ...ctx.page(req, res, 'Overview', 'overview'),
      o: overviewView(o, ctx.deps.control.health(), now),
    });
  });
  return r;
}
