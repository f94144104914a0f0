import { innerDigest } from '../core/spa/crypto.js';
import { encodeMessage } from '../core/spa/encode.js';
import { HASHES, MESSAGE_TYPE_NAMES, MODES } from '../core/spa/types.js';
import type { KnockPlan } from './knock-build.js';

/** The "SPA Field Values" block `fwknop -v` prints, for a packet built from `plan`. No keys in it. */
export function fieldDump(plan: KnockPlan, packet: string): string {
  const f = plan.fields;
  const encoded = encodeMessage(f);
  const hmac = plan.keys.hmacKey === null ? null : HASHES[plan.keys.hmacType];
  const rows: [string, string][] = [
    ['Random Value', f.random_value],
    ['Username', f.username],
    ['Timestamp', String(f.timestamp)],
    ['FKO Version', f.version],
    ['Message Type', `${f.message_type} (${MESSAGE_TYPE_NAMES[f.message_type]})`],
    ['Message String', f.message],
    ['Nat Access', f.nat_access ?? '<NULL>'],
    ['Server Auth', f.server_auth ?? '<NULL>'],
    ['Client Timeout', String(f.client_timeout)],
    ['Digest Type', `${HASHES[plan.digestType].code} (${HASHES[plan.digestType].label})`],
    ['HMAC Type', hmac === null ? '0 (None)' : `${hmac.code} (${hmac.label})`],
    ['Encryption Type', '1 (Rijndael)'],
    ['Encryption Mode', `${MODES[plan.keys.mode].code} (${MODES[plan.keys.mode].label})`],
    ['Encoded Data', encoded],
    ['SPA Data Digest', innerDigest(plan.digestType, Buffer.from(encoded, 'latin1'))],
    ['HMAC', hmac === null ? '<NULL>' : packet.slice(packet.length - hmac.b64len)],
    ['Final SPA Data', packet],
  ];
  return (
    ['SPA Field Values:', '=================', ...rows.map(([k, v]) => `${k.padStart(15)}: ${v}`)].join(
      '\n',
    ) + '\n'
  );
}
