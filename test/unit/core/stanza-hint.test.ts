/**
 * Issues 6 and 7: the stanza that last accepted a source IP or MAC is tried first next time, so
 * a returning client costs one HMAC however many stanzas there are. Observable here through
 * stanza order: two stanzas share keys, the first one listed does not cover the address the
 * client first knocked from, so only the hint explains which stanza grants the second knock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv4Net } from '../../../src/core/ipv4.js';
import { startInProcess } from '../../helpers/in-process-gateway.js';
import { stanza } from '../../helpers/fixtures.js';

const narrow = stanza({ id: 'access.conf:1', source: [parseIpv4Net('10.0.1.0/24')!] });
const wide = stanza({ id: 'access.conf:2' });

async function grantsAfter(knocks: string[]): Promise<string[]> {
  const g = await startInProcess({ stanzas: [narrow, wide] });
  try {
    for (const src of knocks) {
      g.knock({ src });
      await g.settle();
    }
    return g.running.gateway.liveGrants().map((x) => `${x.rules.src} ${x.stanzaId}`);
  } finally {
    await g.stop();
  }
}

test('without history the first stanza that covers the source grants', async () => {
  assert.deepEqual(await grantsAfter(['10.0.1.5']), ['10.0.1.5 access.conf:1']);
});

test('a MAC that was last accepted by a stanza has that stanza tried first from a new address', async () => {
  // Same MAC (the helper's frames all carry one), new address covered by both stanzas.
  assert.deepEqual(await grantsAfter(['10.0.0.9', '10.0.1.5']), ['10.0.0.9 access.conf:2', '10.0.1.5 access.conf:2']);
});

test('reloading the stanzas forgets the hints', async () => {
  const g = await startInProcess({ stanzas: [narrow, wide] });
  try {
    g.knock({ src: '10.0.0.9' });
    await g.settle();
    g.running.reload([narrow, wide]);
    g.knock({ src: '10.0.1.5' });
    await g.settle();
    assert.deepEqual(
      g.running.gateway.liveGrants().map((x) => `${x.rules.src} ${x.stanzaId}`),
      ['10.0.0.9 access.conf:2', '10.0.1.5 access.conf:1'],
    );
  } finally {
    await g.stop();
  }
});

test('the hint is taken at verification, so the next packet of a burst uses it before the first grant is installed', async () => {
  const g = await startInProcess({ stanzas: [narrow, wide] });
  try {
    // Both knocks wait in the intake queue together; the first grant's install has not begun
    // when the second is verified.
    g.knock({ src: '10.0.0.9' });
    g.knock({ src: '10.0.1.5' });
    await g.settle();
    await g.settle();
    assert.deepEqual(
      g.running.gateway.liveGrants().map((x) => `${x.rules.src} ${x.stanzaId}`),
      ['10.0.0.9 access.conf:2', '10.0.1.5 access.conf:2'],
    );
  } finally {
    await g.stop();
  }
});
