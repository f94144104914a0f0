import { UsageError } from './io.js';

const B64_KEY = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Decode a base64 key given on the command line or in an rc file. Padding is optional, as in
 * fwknop. The error names the option only: the value is a secret.
 */
export function decodeKeyBase64(value: string, what: string): Buffer {
  const v = value.trim();
  if (!B64_KEY.test(v) || v.replace(/=+$/, '').length % 4 === 1)
    throw new UsageError(`${what} is not valid base64`);
  const b = Buffer.from(v, 'base64');
  if (b.length === 0) throw new UsageError(`${what} is empty`);
  return b;
}
