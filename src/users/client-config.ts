/**
 * What a user takes away: an `.fwknoprc` stanza for the `fwknop` client (and `spagate knock`),
 * and the text of a QR code for the Fwknop2 Android app. Fwknop2's "scan QR code" splits the
 * scanned text on spaces and each part on `:`, taking KEY_BASE64, KEY, HMAC_KEY_BASE64 and
 * HMAC_KEY (jp-bennett/Fwknop2, ConfigDetailFragment.onActivityResult); nothing else is read,
 * so the QR code carries exactly the two keys in that form.
 */
import QRCode from 'qrcode';
import type { RandomSource, UserRecord } from '../core/ports.js';

/** Key sizes of `fwknop --key-gen`: 32 bytes for Rijndael, 64 for HMAC-SHA256. */
export function newUserKeys(random: RandomSource): { keyBase64: string; hmacKeyBase64: string } {
  return { keyBase64: random.bytes(32).toString('base64'), hmacKeyBase64: random.bytes(64).toString('base64') };
}

/** Where clients send their packets; from the daemon's configuration. */
export interface SpaEndpoint {
  /** The gateway's address on the LAN, or null when unknown (the user then passes -D). */
  server: string | null;
  /** UDP port; 62201 unless the daemon listens elsewhere. */
  port: number;
}

/** The first port the stanza opens, else tcp/22: fwknop requires an access request, and FORWARD_ALL ignores it. */
function accessRequest(u: UserRecord): string {
  const open = u.options.find((o) => o.name === 'OPEN_PORTS')?.value ?? '';
  const first = /(tcp|udp)\/(\d{1,5})/i.exec(open);
  return first ? `${first[1].toLowerCase()}/${first[2]}` : 'tcp/22';
}

/**
 * The `[name]` stanza. Values never contain blanks (fwknop ends a value at the first blank):
 * keys are base64, the name is checked by USER_NAME_RE.
 */
export function fwknoprcStanza(u: UserRecord, at: SpaEndpoint): string {
  const lines: [string, string][] = [];
  if (at.server !== null) lines.push(['SPA_SERVER', at.server]);
  if (at.port !== 62201) lines.push(['SPA_SERVER_PORT', String(at.port)]);
  lines.push(
    ['ACCESS', accessRequest(u)],
    ['ALLOW_IP', 'source'],
    ['SPOOF_USER', u.name],
    ['KEY_BASE64', u.keyBase64],
    ['HMAC_KEY_BASE64', u.hmacKeyBase64],
    ['USE_HMAC', 'Y'],
    ['HMAC_DIGEST_TYPE', 'SHA256'],
  );
  const width = Math.max(...lines.map(([k]) => k.length)) + 2;
  const body = lines.map(([k, v]) => `${k.padEnd(width)}${v}`).join('\n');
  const note = at.server === null ? '# add SPA_SERVER <gateway LAN address>, or pass -D to fwknop\n' : '';
  return `[${u.name}]\n${note}${body}\n`;
}

/** What Fwknop2 imports from a scanned code. */
export function fwknop2QrText(u: Pick<UserRecord, 'keyBase64' | 'hmacKeyBase64'>): string {
  return `KEY_BASE64:${u.keyBase64} HMAC_KEY_BASE64:${u.hmacKeyBase64}`;
}

const QR_OPTS = { errorCorrectionLevel: 'M' as const, margin: 4 };

export function qrPngDataUrl(text: string): Promise<string> {
  return QRCode.toDataURL(text, { ...QR_OPTS, type: 'image/png', scale: 6 });
}

/** An inline SVG (markup, so no image source for the page's CSP to allow). */
export function qrSvg(text: string): Promise<string> {
  // The page's CSP allows no inline styles, so the size goes in as attributes.
  return QRCode.toString(text, { ...QR_OPTS, type: 'svg' }).then((svg) =>
    svg.replace('<svg ', '<svg width="264" height="264" '),
  );
}

/** Everything shown once after keys are made. */
export interface IssuedKeys {
  user: string;
  fwknoprc: string;
  qrText: string;
}

export function issuedKeys(u: UserRecord, at: SpaEndpoint): IssuedKeys {
  return { user: u.name, fwknoprc: fwknoprcStanza(u, at), qrText: fwknop2QrText(u) };
}
