import { Router } from 'express';
import type { WebContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { parseGrantId, parseSeconds } from '../validate.js';
import { hostRows, MODE_LABELS } from '../view-models/grant.js';

/** Extension choices offered in the table; the API accepts any value within the bound. */
export const EXTEND_CHOICES: readonly { seconds: number; label: string }[] = [
  { seconds: 900, label: '15 min' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 4 * 3600, label: '4 hours' },
  { seconds: 12 * 3600, label: '12 hours' },
  { seconds: 86_400, label: '1 day' },
  { seconds: 7 * 86_400, label: '7 days' },
];

/** The active hosts page and its form posts (used when scripts are off; scripts use the API). */
export function hostsRouter(ctx: WebContext): Router {
  const r = Router();

  r.get('/hosts', async (req, res) => {
    const now = ctx.deps.clock.now();
    const live = await ctx.deps.control.listGrants();
    res.render('pages/hosts', {
      ...ctx.page(req, res, 'Active hosts', 'hosts'),
      rows: hostRows(live, now),
      now,
      modes: Object.entries(MODE_LABELS).map(([value, label]) => ({ value, label })),
      extendChoices: EXTEND_CHOICES.filter((c) => c.seconds <= ctx.opts.maxExtendSeconds),
    });
  });

  function flash(req: Parameters<WebContext['auth']>[0], kind: 'ok' | 'error', text: string): void {
    const a = ctx.auth(req);
    if (a?.kind === 'session') a.session.flash = { kind, text };
  }

  r.post('/hosts/:id/revoke', async (req, res) => {
    const id = parseGrantId(req.params['id']);
    const ok = await ctx.deps.control.revoke(id, ctx.actor(req));
    ctx.log.info({ user: ctx.actor(req), grantId: id, ok }, 'revoke');
    flash(req, ok ? 'ok' : 'error', ok ? 'Access revoked.' : 'That grant is no longer live.');
    res.redirect(303, '/hosts');
  });

  r.post('/hosts/:id/extend', async (req, res) => {
    const id = parseGrantId(req.params['id']);
    const seconds = parseSeconds(
      (req.body as Record<string, unknown> | undefined)?.['seconds'],
      ctx.opts.maxExtendSeconds,
      true,
    );
    const g = await ctx.deps.control.extend(id, seconds, ctx.actor(req));
    ctx.log.info({ user: ctx.actor(req), grantId: id, seconds, ok: g !== null }, 'extend');
    flash(req, g ? 'ok' : 'error', g ? 'Access extended.' : 'That grant is no longer live.');
    res.redirect(303, '/hosts');
  });

  r.post('/hosts/revoke', async (req, res) => {
    const raw = (req.body as Record<string, unknown> | undefined)?.['ids'];
    const ids = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(parseGrantId);
    if (ids.length === 0) throw new HttpError(400, 'select at least one host');
    if (ids.length > 1000) throw new HttpError(400, 'too many hosts at once');
    let n = 0;
    for (const id of ids) if (await ctx.deps.control.revoke(id, ctx.actor(req))) n += 1;
    ctx.log.info({ user: ctx.actor(req), requested: ids.length, revoked: n }, 'bulk revoke');
    flash(req, 'ok', `Revoked ${n} of ${ids.length} selected.`);
    res.redirect(303, '/hosts');
  });

  return r;
}
