/**
 * The fwknop client rc file (~/.fwknoprc): `[name]` stanzas of `KEYWORD value` lines. Parsing
 * follows fwknop 2.6.10: a line starting with `#` or `;` (after blanks) is a comment; the keyword is
 * the first word (a trailing `:` is dropped); the value is the next word and ends at a blank, a
 * tab, `;` or `#`, so values cannot contain spaces. Keywords and stanza names are compared
 * case-insensitively. Only the `[default]` stanza and the stanza named with -n are applied, in
 * that order, and only their lines can make errors.
 */

export interface RcEntry {
  /** Upper-case keyword. */
  keyword: string;
  /** Null when the line has a keyword but no value (an error when the stanza is used). */
  value: string | null;
  line: number;
}

export interface RcStanza {
  name: string;
  line: number;
  entries: RcEntry[];
}

/** Every keyword fwknop 2.6.10 knows in its rc file, plus CLIENT_TIMEOUT (an alias of FW_TIMEOUT its sample file uses). */
export const RC_KEYWORDS: ReadonlySet<string> = new Set([
  'DIGEST_TYPE',
  'SPA_SERVER_PROTO',
  'SPA_SERVER_PORT',
  'SPA_SOURCE_PORT',
  'FW_TIMEOUT',
  'CLIENT_TIMEOUT',
  'ALLOW_IP',
  'TIME_OFFSET',
  'ENCRYPTION_MODE',
  'USE_GPG',
  'USE_GPG_AGENT',
  'GPG_RECIPIENT',
  'GPG_SIGNER',
  'GPG_HOMEDIR',
  'GPG_EXE',
  'GPG_SIGNING_PW',
  'GPG_SIGNING_PW_BASE64',
  'GPG_NO_SIGNING_PW',
  'SPOOF_USER',
  'SPOOF_SOURCE_IP',
  'ACCESS',
  'SPA_SERVER',
  'RAND_PORT',
  'KEY',
  'KEY_BASE64',
  'HMAC_DIGEST_TYPE',
  'HMAC_KEY_BASE64',
  'HMAC_KEY',
  'USE_HMAC',
  'USE_WGET_USER_AGENT',
  'KEY_FILE',
  'HMAC_KEY_FILE',
  'NAT_ACCESS',
  'HTTP_USER_AGENT',
  'RESOLVE_URL',
  'SERVER_RESOLVE_IPV4',
  'NAT_LOCAL',
  'NAT_RAND_PORT',
  'NAT_PORT',
  'VERBOSE',
  'RESOLVE_IP_HTTP',
  'RESOLVE_IP_HTTPS',
  'RESOLVE_HTTP_ONLY',
  'WGET_CMD',
  'NO_SAVE_ARGS',
]);

const SECTION = /^\s*\[([^\]]*)\]/;

/** Split rc file text into stanzas. Lines before the first stanza are ignored, as fwknop does. */
export function parseRcText(text: string): RcStanza[] {
  const stanzas: RcStanza[] = [];
  let current: RcStanza | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    // fwknop only looks at column 1 and then fails on an indented comment; accepting it as a
    // comment changes nothing for files fwknop accepts.
    const first = raw.trimStart().charAt(0);
    if (first === '' || first === '#' || first === ';') continue;
    const sec = SECTION.exec(raw);
    if (sec) {
      current = { name: sec[1], line: i + 1, entries: [] };
      stanzas.push(current);
      continue;
    }
    if (current === null) continue;
    const m = /^\s*(\S+)(?:[ \t]+([^ ;\t#]*))?/.exec(raw)!;
    let keyword = m[1];
    const colon = keyword.lastIndexOf(':');
    if (colon >= 0) keyword = keyword.slice(0, colon);
    const value = m[2] === undefined || m[2] === '' ? null : m[2];
    current.entries.push({ keyword: keyword.toUpperCase(), value, line: i + 1 });
  }
  return stanzas;
}

/**
 * The entries that apply for `-n named` (or none): all `[default]` entries, then all entries of
 * the named stanza, in file order. `found` is false when a name was asked for and is absent.
 */
export function selectRcEntries(
  stanzas: readonly RcStanza[],
  named: string | null,
): { entries: RcEntry[]; found: boolean } {
  const pick = (name: string) => stanzas.filter((s) => s.name.toLowerCase() === name.toLowerCase());
  const entries = pick('default').flatMap((s) => s.entries);
  if (named === null) return { entries, found: true };
  const chosen = pick(named);
  // `-n default` just means the default stanza; do not apply it twice.
  if (named.toLowerCase() !== 'default') entries.push(...chosen.flatMap((s) => s.entries));
  return { entries, found: chosen.length > 0 };
}

/** Names of the stanzas other than [default], as `fwknop --stanza-list` prints them. */
export function stanzaNames(stanzas: readonly RcStanza[]): string[] {
  return stanzas.map((s) => s.name).filter((n) => n.toLowerCase() !== 'default');
}
