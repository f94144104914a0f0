// The scenario both daemons run through ../shared/bench/run.sh: one set of harness settings per
// profile, identical for spagate and fwknopd except FW_ACCESS_TIMEOUT of the grant burst, which
// must outlast each daemon's own install time (fwknopd needs ~45 s for 1,000 grants).

export type Daemon = 'spagate' | 'fwknopd';
export type Profile = 'full' | 'quick';

/** Legitimate packets per flood and when they go out (ms into the flood). */
function offsets(n: number, first: number, step: number): string {
  return Array.from({ length: n }, (_, i) => first + i * step).join(',');
}

// GRANT_RUNS and STANZA_RUNS must not be 2 (adapters/scenario.sh widens the flood's 2-packet plan).
const FULL: Record<string, string> = {
  PHASES: 'grant flood stanzas fwd many',
  GRANT_RUNS: '7',
  EXPIRY_TIMEOUT_S: '5',
  IDLE_CPU_S: '10',
  FLOOD_MODES: 'junk badhmac',
  FLOOD_RATES: '5000 20000 max',
  FLOOD_SECONDS: '8',
  FLOOD_LEGIT_PER_RATE: '10',
  FLOOD_PROBES_AT: offsets(10, 1000, 600),
  FLOOD_LEGIT_WAIT_MS: '5000',
  FLOOD_DRAIN_MAX_S: '8',
  STANZA_COUNTS: '1 1000',
  STANZA_RUNS: '5',
  STANZA_JUNK_PPS: '50',
  STANZA_JUNK_S: '5',
  FWD_RUNS: '3',
  FWD_SECONDS: '2',
  MANY_COUNTS: '1000',
  MANY_HOLD_CPU_S: '5',
  MANY_FWD_AT: '1000',
  MANY_EXPIRY_WAIT_S: '2',
};

const QUICK: Record<string, string> = {
  PHASES: 'grant flood stanzas many',
  GRANT_RUNS: '3',
  EXPIRY_TIMEOUT_S: '5',
  IDLE_CPU_S: '3',
  FLOOD_MODES: 'junk badhmac',
  FLOOD_RATES: '20000',
  FLOOD_SECONDS: '5',
  FLOOD_LEGIT_PER_RATE: '5',
  FLOOD_PROBES_AT: offsets(5, 1000, 500),
  FLOOD_LEGIT_WAIT_MS: '4000',
  FLOOD_DRAIN_MAX_S: '4',
  STANZA_COUNTS: '1 1000',
  STANZA_RUNS: '3',
  STANZA_JUNK_PPS: '50',
  STANZA_JUNK_S: '3',
  FWD_RUNS: '1',
  FWD_SECONDS: '2',
  MANY_COUNTS: '200',
  MANY_HOLD_CPU_S: '3',
  MANY_FWD_AT: '0',
  MANY_EXPIRY_WAIT_S: '2',
};

/** FW_ACCESS_TIMEOUT for the burst: install + CPU hold + forwarding test (~20 s) + margin. */
const MANY_TIMEOUTS: Record<Profile, Record<Daemon, string>> = {
  full: { spagate: '1000:45', fwknopd: '1000:85' },
  quick: { spagate: '200:20', fwknopd: '200:25' },
};

/** Hard wall-clock limit per daemon, seconds (the harness bounds every wait on its own as well). */
export const TIME_LIMIT_S: Record<Profile, Record<Daemon, number>> = {
  full: { spagate: 420, fwknopd: 540 },
  quick: { spagate: 150, fwknopd: 180 },
};

export function harnessSettings(profile: Profile, daemon: Daemon, first: boolean): Record<string, string> {
  const base = profile === 'full' ? FULL : QUICK;
  return {
    ...base,
    MANY_TIMEOUTS: MANY_TIMEOUTS[profile][daemon],
    // The static 1-rule forwarding reference needs no daemon: measure it once per bench run.
    FWD_STATIC_REF: first ? '1' : '0',
  };
}
