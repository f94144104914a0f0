import type { Grant, GrantRules } from '../../../src/core/model.js';

export const BASE_RULES: GrantRules = {
  src: '10.0.0.7',
  mac: null,
  dst: null,
  input: [],
  output: false,
  forward: null,
  dnat: null,
  snat: null,
};

export function rules(over: Partial<GrantRules>): GrantRules {
  return { ...BASE_RULES, ...over };
}

export function grant(
  id: string,
  r: Partial<GrantRules>,
  expiresAt: number,
  grantedAt = expiresAt - 30_000,
): Grant {
  return { id, stanzaId: 's1', user: 'u', rules: rules(r), grantedAt, expiresAt };
}

/** One grant of each shape the planner produces. */
export function everyShape(expiresAt: number): Grant[] {
  return [
    grant('fwdall', { forward: { all: true }, snat: { all: true, kind: 'MASQUERADE' } }, expiresAt),
    grant(
      'fwdallmac',
      {
        src: '10.0.0.8',
        mac: 'aa:bb:cc:00:11:22',
        forward: { all: true },
        snat: { all: true, kind: 'SNAT', toSource: '192.0.2.1' },
      },
      expiresAt,
    ),
    grant(
      'access',
      {
        src: '10.0.0.9',
        input: [
          { proto: 'tcp', port: 22 },
          { proto: 'udp', port: 53 },
        ],
        output: true,
      },
      expiresAt,
    ),
    grant(
      'accessdst',
      {
        src: '10.0.0.10',
        mac: 'aa:bb:cc:00:11:23',
        dst: '192.0.2.1',
        input: [{ proto: 'tcp', port: 22 }],
        output: true,
      },
      expiresAt,
    ),
    grant(
      'nat',
      {
        src: '198.51.100.4',
        forward: { all: false, proto: 'tcp', port: 22 },
        dnat: { all: false, proto: 'tcp', port: 80, toIp: '10.1.0.5', toPort: 22 },
        snat: { all: false, kind: 'MASQUERADE', toPorts: 80, proto: 'tcp', ip: '10.1.0.5', port: 22 },
      },
      expiresAt,
    ),
    grant(
      'natsnat',
      {
        src: '198.51.100.5',
        dst: '192.0.2.1',
        forward: { all: false, proto: 'udp', port: 5000 },
        dnat: { all: false, proto: 'udp', port: 5000, toIp: '10.1.0.6', toPort: 5000 },
        snat: { all: false, kind: 'SNAT', toSource: '10.1.0.1', proto: 'udp', ip: '10.1.0.6', port: 5000 },
      },
      expiresAt,
    ),
    grant(
      'dnatall',
      {
        src: '198.51.100.6',
        mac: 'aa:bb:cc:00:11:24',
        forward: { all: true },
        dnat: { all: true, toIp: '10.1.0.7' },
      },
      expiresAt,
    ),
  ];
}
