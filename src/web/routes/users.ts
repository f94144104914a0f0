/**
 * Users (database access stanzas) and enrollment codes: the /users pages and the JSON API
 * under /api/users and /api/enrollments. New keys and codes appear only in the response that
 * made them: nothing is kept to show them again.
 */
import { Router, type Request, type Response } from 'express';
import { parseConfigText } from '../../config/syntax.js';
import { qrPngDataUrl, qrSvg, type IssuedKeys } from '../../users/client-config.js';
import type { NewUser } from '../../users/directory.js';
import { UserError } from '../../users/errors.js';
import type { UserOption } from '../../users/user-stanza.js';
import { USER_KEYWORDS } from '../../users/user-stanza.js';
import type { Users } from '../../users/setup.js';
import type { WebContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { jsonObject } from '../validate.js';
import { displayTime, isoTime } from '../view-models/format.js';
import { enrollmentJson, enrollmentRow, userJson, userRow } from '../view-models/user.js';

const STATUS: Readonly<Record<UserError['kind'], number>> = { invalid: 400, not_found: 404, conflict: 409 };

/** UserError becomes an HttpError with its (safe) message; anything else stays a 500. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof UserError) throw new HttpError(STATUS[e.kind], e.message);
    throw e;
  }
}

function parseName(v: unknown): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v)) throw new HttpError(400, 'malformed user name');
  return v;
}

function optString(body: Record<string, unknown>, key: string, max: number): string | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || v.length > max) throw new HttpError(400, `"${key}" must be text of at most ${max} characters`);
  return v.trim();
}

/** Form: `NAME VALUE` lines (comments allowed). */
function optionsFromText(text: string | undefined): UserOption[] {
  if (text === undefined) return [];
  const parsed = parseConfigText(text.replace(/\r\n/g, '\n'), 'options');
  if (parsed.invalid.length > 0) throw new HttpError(400, `options line ${parsed.invalid[0].line} is not "NAME VALUE"`);
  return parsed.entries.map((e) => ({ name: e.name.toUpperCase(), value: e.value.trim() }));
}

/** JSON: `{"FORWARD_ALL": "Y"}` or `[{"name": "FORWARD_ALL", "value": "Y"}]`. */
function optionsFromJson(v: unknown): UserOption[] {
  if (v === undefined || v === null) return [];
  const bad = (): never => {
    throw new HttpError(400, '"options" must map keywords to text values');
  };
  const list: [unknown, unknown][] = Array.isArray(v)
    ? v.map((o) => {
        if (typeof o !== 'object' || o === null) return bad();
        const x = o as Record<string, unknown>;
        return [x['name'], x['value']] as [unknown, unknown];
      })
    : typeof v === 'object'
      ? Object.entries(v as Record<string, unknown>)
      : bad();
  if (list.length > USER_KEYWORDS.length) bad();
  return list.map(([name, value]) => {
    if (typeof name !== 'string' || (typeof value !== 'string' && typeof value !== 'number')) return bad();
    return { name: name.toUpperCase(), value: String(value).trim() };
  });
}

/**
 * Expiry: forms send `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` (read as UTC) or nothing for never;
 * JSON sends an ISO 8601 time or null.
 */
function parseExpiry(v: unknown): number | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > 40) throw new HttpError(400, '"expires_at" must be an ISO 8601 time or null');
  const s = v.trim();
  const local = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/.test(s);
  const t = Date.parse(local ? (s.length === 10 ? `${s}T00:00:00Z` : `${s}Z`) : s);
  if (!Number.isFinite(t)) throw new HttpError(400, '"expires_at" must be an ISO 8601 time or null');
  return t;
}

function newUser(body: Record<string, unknown>, fromForm: boolean, nameKey: string): NewUser {
  return {
    name: parseName(body[nameKey]),
    source: optString(body, 'source', 1024),
    options: fromForm ? optionsFromText(optString(body, 'options', 8192)) : optionsFromJson(body['options']),
    expiresAt: parseExpiry(fromForm ? body['expires'] : body['expires_at']),
  };
}

function formBody(req: Request): Record<string, unknown> {
  const b: unknown = req.body;
  return typeof b === 'object' && b !== null ? (b as Record<string, unknown>) : {};
}

export function usersRouter(ctx: WebContext, users: Users): Router {
  const r = Router();
  const { directory, enrollment } = users;

  function flash(req: Request, kind: 'ok' | 'error', text: string): void {
    const a = ctx.auth(req);
    if (a?.kind === 'session') a.session.flash = { kind, text };
  }

  async function showKeys(req: Request, res: Response, issued: IssuedKeys, what: string): Promise<void> {
    res.set('Cache-Control', 'no-store');
    res.render('pages/users-keys', {
      ...ctx.page(req, res, `Keys for ${issued.user}`, 'users'),
      what,
      user: issued.user,
      fwknoprc: issued.fwknoprc,
      download: `data:text/plain;charset=utf-8;base64,${Buffer.from(issued.fwknoprc, 'utf8').toString('base64')}`,
      fileName: `${issued.user}.fwknoprc`,
      qrSvg: await qrSvg(issued.qrText),
      qrText: issued.qrText,
      serverKnown: directory.endpoint.server !== null,
    });
  }

  // Pages.

  r.get('/users', async (req, res) => {
    const [list, codes] = await Promise.all([directory.list(), enrollment.list()]);
    res.render('pages/users', {
      ...ctx.page(req, res, 'Users', 'users'),
      rows: list.map(userRow),
      codes: codes.filter((c) => c.state === 'open').map(enrollmentRow),
      keywords: USER_KEYWORDS,
      defaultOptions: 'FORWARD_ALL Y\nDISABLE_DNAT Y\nFW_ACCESS_TIMEOUT 3600',
    });
  });

  r.post('/users', async (req, res) => {
    const n = newUser(formBody(req), true, 'name');
    const issued = await call(() => directory.create(n, ctx.actor(req)));
    await showKeys(req, res, issued, 'created');
  });

  r.post('/users/:name/rotate', async (req, res) => {
    const name = parseName(req.params['name']);
    const issued = await call(() => directory.rotateKeys(name, ctx.actor(req)));
    await showKeys(req, res, issued, 'rotated');
  });

  for (const [path, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    r.post(`/users/:name/${path}`, async (req, res) => {
      const name = parseName(req.params['name']);
      await call(() => directory.setDisabled(name, disabled, ctx.actor(req)));
      flash(req, 'ok', disabled ? `User ${name} disabled; their access ended.` : `User ${name} enabled.`);
      res.redirect(303, '/users');
    });
  }

  r.post('/users/:name/expiry', async (req, res) => {
    const name = parseName(req.params['name']);
    const at = parseExpiry(formBody(req)['expires']);
    await call(() => directory.setExpiry(name, at, ctx.actor(req)));
    flash(req, 'ok', at === null ? `User ${name} no longer expires.` : `User ${name} expires ${displayTime(at)}.`);
    res.redirect(303, '/users');
  });

  r.post('/users/:name/delete', async (req, res) => {
    const name = parseName(req.params['name']);
    await call(() => directory.delete(name, ctx.actor(req)));
    flash(req, 'ok', `User ${name} deleted.`);
    res.redirect(303, '/users');
  });

  r.post('/enrollments', async (req, res) => {
    const body = formBody(req);
    const hours = optString(body, 'hours', 6) ?? '24';
    if (!/^\d{1,4}$/.test(hours)) throw new HttpError(400, '"hours" must be a whole number');
    const n = newUser(body, true, 'user');
    const code = await call(() => enrollment.issue(n, ctx.actor(req), Number(hours) * 3_600_000));
    res.set('Cache-Control', 'no-store');
    res.render('pages/users-code', {
      ...ctx.page(req, res, 'Enrollment code', 'users'),
      code: code.code,
      user: code.user,
      expiresText: displayTime(code.expiresAt),
      createdUser: code.createdUser,
    });
  });

  // JSON API.

  r.get('/api/users', async (_req, res) => {
    res.json({ users: (await directory.list()).map(userJson) });
  });

  r.post('/api/users', async (req, res) => {
    const n = newUser(jsonObject(req.body), false, 'name');
    const issued = await call(() => directory.create(n, ctx.actor(req)));
    const view = await directory.get(n.name);
    res.status(201).json({
      user: view ? userJson(view) : { name: n.name },
      fwknoprc: issued.fwknoprc,
      qr_text: issued.qrText,
      qr_png: await qrPngDataUrl(issued.qrText),
    });
  });

  r.get('/api/users/:name', async (req, res) => {
    const u = await directory.get(parseName(req.params['name']));
    if (!u) throw new HttpError(404, 'no such user');
    res.json({ user: userJson(u) });
  });

  r.post('/api/users/:name/rotate', async (req, res) => {
    const name = parseName(req.params['name']);
    const issued = await call(() => directory.rotateKeys(name, ctx.actor(req)));
    res.json({ user: name, fwknoprc: issued.fwknoprc, qr_text: issued.qrText, qr_png: await qrPngDataUrl(issued.qrText) });
  });

  for (const [path, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    r.post(`/api/users/:name/${path}`, async (req, res) => {
      const name = parseName(req.params['name']);
      const u = await call(() => directory.setDisabled(name, disabled, ctx.actor(req)));
      res.json({ user: userJson(u) });
    });
  }

  r.post('/api/users/:name/expiry', async (req, res) => {
    const name = parseName(req.params['name']);
    const body = jsonObject(req.body);
    if (!('expires_at' in body)) throw new HttpError(400, '"expires_at" is required (an ISO 8601 time, or null for never)');
    const u = await call(() => directory.setExpiry(name, parseExpiry(body['expires_at']), ctx.actor(req)));
    res.json({ user: userJson(u) });
  });

  r.delete('/api/users/:name', async (req, res) => {
    const name = parseName(req.params['name']);
    await call(() => directory.delete(name, ctx.actor(req)));
    res.json({ name, deleted: true });
  });

  r.get('/api/enrollments', async (_req, res) => {
    res.json({ enrollments: (await enrollment.list()).map(enrollmentJson) });
  });

  r.post('/api/enrollments', async (req, res) => {
    const body = jsonObject(req.body);
    const n = newUser(body, false, 'user');
    const ttl = body['ttl_seconds'];
    if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isSafeInteger(ttl)))
      throw new HttpError(400, '"ttl_seconds" must be an integer');
    const code = await call(() => enrollment.issue(n, ctx.actor(req), ttl === undefined ? undefined : ttl * 1000));
    res.status(201).json({
      id: code.id,
      code: code.code,
      user: code.user,
      expires_at: isoTime(code.expiresAt),
      created_user: code.createdUser,
    });
  });

  return r;
}
