/** Knocking from a test namespace with Debian's real `fwknop` client or with `spagate knock`. */
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI } from './daemon.js';
import type { Netns } from './netns.js';

export interface KnockKeys {
  key: string;
  hmac: string;
}

export function randomKeys(): KnockKeys {
  const b = (n: number): string => Buffer.from(Array.from({ length: n }, () => Math.floor(Math.random() * 256))).toString('base64');
  return { key: b(32), hmac: b(64) };
}

/**
 * Real fwknop client: builds and sends one packet, and saves it with -B for replay tests.
 * Keys go through a private rc file (mode 0600), not argv. Returns the saved packet path.
 */
export function fwknopKnock(ns: Netns, nsName: string, server: string, keys: KnockKeys, extra: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'spagate-fwknop-'));
  const rc = join(dir, 'fwknoprc');
  writeFileSync(rc, `[default]\n\n[gw]\nSPA_SERVER ${server}\nACCESS tcp/22\nALLOW_IP source\nKEY_BASE64 ${keys.key}\nHMAC_KEY_BASE64 ${keys.hmac}\nUSE_HMAC Y\n`);
  chmodSync(rc, 0o600);
  const saved = join(dir, 'packet.txt');
  ns.exec(nsName, '/usr/bin/fwknop', ['--rc-file', rc, '-n', 'gw', '--no-save-args', '-B', saved, ...extra]);
  return saved;
}

/**
 * Real fwknop client, one packet, nothing kept: `extra` carries the request (`-A tcp/80`,
 * `-N host:port`, `--nat-local`, `-f N`, ...), which overrides the rc file's ACCESS.
 */
export function fwknopSend(ns: Netns, nsName: string, server: string, keys: KnockKeys, extra: string[] = []): void {
  const saved = fwknopKnock(ns, nsName, server, keys, extra);
  rmSync(dirname(saved), { recursive: true, force: true });
}

/** spagate's own client. */
export function spagateKnock(ns: Netns, nsName: string, server: string, keys: KnockKeys): void {
  const dir = mkdtempSync(join(tmpdir(), 'spagate-knock-'));
  const rc = join(dir, 'fwknoprc');
  writeFileSync(rc, `[gw]\nSPA_SERVER ${server}\nACCESS tcp/22\nALLOW_IP source\nKEY_BASE64 ${keys.key}\nHMAC_KEY_BASE64 ${keys.hmac}\nUSE_HMAC Y\n`);
  chmodSync(rc, 0o600);
  try {
    ns.exec(nsName, process.execPath, [CLI, 'knock', '--rc-file', rc, '-n', 'gw']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
