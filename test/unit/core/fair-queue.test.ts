import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FairQueue } from '../../../src/core/fair-queue.js';

function drain<T>(q: FairQueue<T>): T[] {
  const out: T[] = [];
  for (let x = q.shift(); x !== undefined; x = q.shift()) out.push(x);
  return out;
}

test('sources are served in turn, each in its own arrival order', () => {
  const q = new FairQueue<string>({ perSource: 10, total: 100 });
  for (const x of ['a1', 'a2', 'a3', 'a4']) q.push('a', x);
  q.push('b', 'b1');
  q.push('c', 'c1');
  q.push('b', 'b2');
  assert.deepEqual(drain(q), ['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4']);
  assert.equal(q.size, 0);
  assert.equal(q.sources, 0);
});

test('one source cannot take more than its share, and the total is bounded', () => {
  const q = new FairQueue<number>({ perSource: 3, total: 5 });
  assert.deepEqual([1, 2, 3, 4].map((n) => q.push('flood', n)), [true, true, true, false]);
  assert.equal(q.push('b', 1), true);
  assert.equal(q.push('c', 1), true);
  assert.equal(q.push('d', 1), false, 'total reached');
  q.shift();
  assert.equal(q.push('d', 1), true, 'room again once one is served');
});

test('a knock behind a flood of 40,000 from one source is served second', () => {
  const q = new FairQueue<string>();
  let accepted = 0;
  for (let i = 0; i < 40_000; i++) if (q.push('10.0.0.66', `junk${i}`)) accepted++;
  assert.equal(accepted, 16_384, 'the flooder is capped at its share');
  q.push('10.0.0.9', 'knock');
  assert.deepEqual([q.shift(), q.shift()], ['junk0', 'knock']);
});

test('limits that make no sense are refused', () => {
  assert.throws(() => new FairQueue({ perSource: 0, total: 10 }), RangeError);
  assert.throws(() => new FairQueue({ perSource: 10, total: 5 }), RangeError);
});

test('any interleaving of pushes and shifts keeps every item once, per-source order, and the bounds', () => {
  const op = fc.oneof(fc.record({ push: fc.constantFrom('a', 'b', 'c', 'd') }), fc.constant({ shift: true as const }));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
      const q = new FairQueue<[string, number]>({ perSource: 50, total: 120 });
      const model = new Map<string, number[]>();
      const next = new Map<string, number>();
      let n = 0;
      const out: [string, number][] = [];
      for (const o of ops) {
        if ('push' in o) {
          const item: [string, number] = [o.push, n++];
          const waiting = [...model.values()].reduce((s, v) => s + v.length, 0);
          const mine = model.get(o.push)?.length ?? 0;
          assert.equal(q.push(o.push, item), mine < 50 && waiting < 120);
          if (mine < 50 && waiting < 120) model.set(o.push, [...(model.get(o.push) ?? []), item[1]]);
        } else {
          const x = q.shift();
          if (x) {
            out.push(x);
            const m = model.get(x[0])!;
            assert.equal(m.shift(), x[1], 'oldest of its source');
            if (m.length === 0) model.delete(x[0]);
          } else assert.equal(model.size, 0);
        }
        assert.equal(q.size, [...model.values()].reduce((s, v) => s + v.length, 0));
      }
      for (const [src, id] of out) {
        assert.ok((next.get(src) ?? -1) < id);
        next.set(src, id);
      }
    }),
    { numRuns: 200 },
  );
});
