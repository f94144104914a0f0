/**
 * Issue 8, bad input: the JSON API's request bodies and queries go through src/web/validate.ts
 * before anything else sees them. For any JSON value (and any query object express can
 * produce: strings, arrays of strings, nested objects) each validator either returns a value
 * inside its documented bounds or throws an HttpError 400 with a message; nothing else escapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HttpError } from '../../../src/web/http-error.js';
import { EVENTS_PAGE_MAX, jsonObject, parseEventQuery, parseGrantId, parseSeconds } from '../../../src/web/validate.js';
import { OUTCOMES } from '../../../src/web/view-models/event.js';
import { RUNS } from './mutate.js';

const MAX_EXTEND = 7 * 24 * 3600;

function rejects400(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (e) {
    assert.ok(e instanceof HttpError, `not an HttpError: ${String(e)}`);
    assert.equal(e.status, 400);
    assert.ok(e.message.trim().length > 0, 'every rejection has a reason');
    return undefined;
  }
}

const json = fc.jsonValue({ maxDepth: 3 });
/** What express's query parser (qs) yields: strings, arrays and nested objects of strings. */
const queryValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', '0', '1', '500', '501', '-1', '1e3', '0x10', '9007199254740993', 'accepted', 'rejected', ' 10.0.0.1 '),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);
const query = fc.record(
  { limit: queryValue, before: queryValue, outcome: queryValue, src: queryValue, user: queryValue, other: queryValue },
  { requiredKeys: [] },
);

test('POST /api/grants/:id/extend body: any JSON is a valid object with bounded seconds, or a 400', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(fc.oneof(json, fc.record({ seconds: fc.oneof(json, fc.integer(), fc.double()) })), (body) => {
      const seconds = rejects400(() => parseSeconds(jsonObject(body)['seconds'], MAX_EXTEND, false));
      if (seconds !== undefined) {
        assert.ok(Number.isSafeInteger(seconds) && (seconds as number) >= 1 && (seconds as number) <= MAX_EXTEND, JSON.stringify(seconds));
        assert.equal((body as { seconds: unknown }).seconds, seconds, 'JSON bodies carry the number itself');
      }
    }),
    RUNS,
  );
});

test('form seconds and grant ids: any value is accepted only in shape', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(fc.oneof(json, fc.string({ unit: 'binary', maxLength: 20 })), (v) => {
      const s = rejects400(() => parseSeconds(v, MAX_EXTEND, true));
      if (s !== undefined) assert.ok(Number.isSafeInteger(s) && (s as number) >= 1 && (s as number) <= MAX_EXTEND);
      const id = rejects400(() => parseGrantId(v));
      if (id !== undefined) assert.match(id as string, /^[A-Za-z0-9_.:-]{1,128}$/);
    }),
    RUNS,
  );
});

test('GET /api/events query: any query object gives a bounded filter or a 400', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(query, (q) => {
      const f = rejects400(() => parseEventQuery(q)) as ReturnType<typeof parseEventQuery> | undefined;
      if (f === undefined) return;
      assert.ok(Number.isInteger(f.limit) && f.limit >= 1 && f.limit <= EVENTS_PAGE_MAX);
      if (f.before !== undefined) assert.ok(Number.isSafeInteger(f.before) && f.before >= 1);
      if (f.outcome !== undefined) assert.ok((OUTCOMES as readonly string[]).includes(f.outcome));
      if (f.srcIp !== undefined) assert.ok(typeof f.srcIp === 'string' && f.srcIp.length <= 64);
      if (f.user !== undefined) assert.ok(typeof f.user === 'string' && f.user.length <= 128);
    }),
    RUNS,
  );
});
