import { Router } from 'express';
import type { EventFilter } from '../../core/ports.js';
import type { StoredEvent } from '../../core/model.js';
import type { WebContext } from '../context.js';
import { parseEventQuery } from '../validate.js';
import { eventRow, OUTCOMES } from '../view-models/event.js';

/** One page of events, newest first, and the cursor for the next (older) page. */
export async function loadEvents(
  ctx: WebContext,
  filter: EventFilter,
): Promise<{ events: StoredEvent[]; nextBefore: number | null }> {
  const got = await ctx.deps.events.listEvents({ ...filter, limit: filter.limit + 1 });
  const events = got.slice(0, filter.limit);
  const last = events.at(-1);
  return { events, nextBefore: got.length > filter.limit && last ? last.id : null };
}

export function eventsRouter(ctx: WebContext): Router {
  const r = Router();
  r.get('/events', async (req, res) => {
    const filter = parseEventQuery(req.query);
    const { events, nextBefore } = await loadEvents(ctx, filter);
    const keep = new URLSearchParams();
    if (filter.outcome) keep.set('outcome', filter.outcome);
    if (filter.srcIp) keep.set('src', filter.srcIp);
    if (filter.user) keep.set('user', filter.user);
    const older =
      nextBefore === null
        ? null
        : `/events?${new URLSearchParams([...keep, ['before', String(nextBefore)]]).toString()}`;
    res.render('pages/events', {
      ...ctx.page(req, res, 'Events', 'events'),
      rows: events.map(eventRow),
      outcomes: OUTCOMES,
      filter: { outcome: filter.outcome ?? '', src: filter.srcIp ?? '', user: filter.user ?? '' },
      paged: filter.before !== undefined,
      newestHref: `/events${keep.size > 0 ? `?${keep.toString()}` : ''}`,
      olderHref: older,
    });
  });
  return r;
}
