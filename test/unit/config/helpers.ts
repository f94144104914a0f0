import type { CompileInput, CompileResult } from '../../../src/config/compile.js';
import { compileConfig } from '../../../src/config/compile.js';
import type { MemoryFile } from '../../../src/config/sources.js';
import { memorySources } from '../../../src/config/sources.js';

export const CONF = '/etc/fwknop/fwknopd.conf';
export const ACCESS = '/etc/fwknop/access.conf';
/** 32 random-looking bytes, base64 (as fwknop --key-gen prints). */
export const KEY_B64 = 'wtMiOIjDTe6VY6Un9Ce+0cn8RUZyXJ9vS6v8Fw/5EAs=';
export const HMAC_B64 =
  'Yy7wB3Gz2cSc5oT4a8m1b6VxK6HcVk4ZQf5kqT9yV9Xn3p4cYp8yWbnm0lPq1r2s3t4u5v6w7x8y9z0A1B2C3Q==';
export const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

/** A stanza that compiles without warnings except those the test adds. */
export function stanza(source = 'ANY', extra = ''): string {
  return `SOURCE ${source}\nKEY_BASE64 ${KEY_B64}\nHMAC_KEY_BASE64 ${HMAC_B64}\nREQUIRE_SOURCE_ADDRESS Y\n${extra}`;
}

export function compile(
  conf: string,
  access: string,
  more: Partial<Omit<CompileInput, 'sources'>> & {
    files?: Record<string, MemoryFile>;
    dirs?: Record<string, string[]>;
  } = {},
): CompileResult {
  const { files, dirs, ...rest } = more;
  return compileConfig({
    configFile: CONF,
    accessFile: ACCESS,
    now: NOW,
    ...rest,
    sources: memorySources({ [CONF]: conf, [ACCESS]: access, ...files }, dirs),
  });
}

export function messages(list: readonly { file: string; line: number; message: string }[]): string[] {
  return list.map((p) => `${p.file}:${p.line}: ${p.message}`);
}

export function ok(r: CompileResult) {
  if (r.config === null) throw new Error(`expected no errors, got:\n${messages(r.errors).join('\n')}`);
  return r.config;
}
