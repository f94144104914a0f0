/**
 * Shared fast-check arbitraries for the parser fuzz tests: mutations of valid sample text
 * (line drops, duplications, byte flips, truncation, splices of hostile characters) and
 * junk built from the characters parsers care about. Seeds are fixed so a failure reproduces.
 */
import fc from 'fast-check';

/** Characters that tend to matter to line- and token-based parsers. */
const NASTY = ['\n', '\r', '\t', ' ', '#', ';', '[', ']', '{', '}', '"', '\\', ',', ':', '/', '=', '\0', '\x1b', '\u2028', '\uffff', '%', '$', '-', '0', '9', '.'];

export const nastyChar = fc.oneof(fc.constantFrom(...NASTY), fc.string({ minLength: 1, maxLength: 1 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));

export const junkText = fc.array(fc.oneof(nastyChar, fc.string({ maxLength: 12 })), { maxLength: 120 }).map((a) => a.join(''));

/** Values that sit on the edges of what the parsers accept. */
const TOKENS = ['-1', '0', '65536', '4294967296', '99999999999999999999', '1e3', '0x10', 'NaN', 'Y', 'N', 'yes', 'ANY', '0.0.0.0/0', '10.0.0.0/33', '256.1.1.1', '1.2.3', 'tcp/0', 'udp/65536', 'icmp/1', 'tcp/22,', ',', '', '   ', '""', '%include', '%include_folder', '/etc/passwd', '../../x', 'a'.repeat(300), '=', 'KEY_BASE64', 'SOURCE', '[default]', 'lease', '{', '}', 'ends', 'never;', '2038/01/19', '00:00:60'];

type Edit = (s: string) => string;

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.tuple(fc.nat(), fc.nat({ max: 40 })).map(([at, n]): Edit => (s) => {
    const i = s.length === 0 ? 0 : at % s.length;
    return s.slice(0, i) + s.slice(i + n);
  }),
  fc.tuple(fc.nat(), fc.array(nastyChar, { minLength: 1, maxLength: 8 })).map(([at, cs]): Edit => (s) => {
    const i = s.length === 0 ? 0 : at % (s.length + 1);
    return s.slice(0, i) + cs.join('') + s.slice(i);
  }),
  fc.nat().map((at): Edit => (s) => s.slice(0, s.length === 0 ? 0 : at % (s.length + 1))),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]): Edit => (s) => {
    const lines = s.split('\n');
    if (lines.length === 0) return s;
    const i = a % lines.length;
    const j = b % lines.length;
    [lines[i], lines[j]] = [lines[j], lines[i]];
    return lines.join('\n');
  }),
  fc.nat().map((a): Edit => (s) => {
    const lines = s.split('\n');
    const i = a % Math.max(1, lines.length);
    lines.splice(i, 0, lines[i] ?? '');
    return lines.join('\n');
  }),
  fc.tuple(fc.nat(), fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(...TOKENS))).map(([a, w]): Edit => (s) => {
    const words = s.split(/(\s+)/);
    if (words.length === 0) return w;
    words[a % words.length] = w;
    return words.join('');
  }),
);

/** A valid sample (picked from `samples`) with up to 6 random edits applied. */
export function mutated(samples: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...samples), fc.array(edit, { maxLength: 6 })).map(([s, edits]) => edits.reduce((acc, f) => f(acc), s));
}

/** Either a mutated sample or plain junk. */
export function parserInput(samples: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof({ weight: 4, arbitrary: mutated(samples) }, { weight: 1, arbitrary: junkText });
}

/** Run settings shared by the fuzz tests: bounded, reproducible. */
export const RUNS = { numRuns: 400, seed: 0x5bade, endOnFailure: true } as const;
