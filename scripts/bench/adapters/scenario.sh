# Scenario tweaks shared by spagate.sh and fwknopd.sh, so both daemons get exactly the same
# traffic. Sourced by the adapters, after ../shared/bench/lib/common.sh.
#
# FLOOD_LEGIT_PER_RATE=N: the harness sends 2 legitimate packets per flood (phase_flood calls
# `make_plan DIR pb IDX 2 PLAN`); the issue's target is "10 of 10", so that one call is widened
# to N packets from pool addresses of their own (20 + 5 x (IDX - 20) ..), which stay clear of
# the grant (0..), fwd (90, 91) and stanza/many (100..) ranges for up to 7 floods of 10.
# FLOOD_PROBES_AT must then list N offsets. The phases' other make_plan calls never ask for 2
# (scripts/bench/gateway.ts keeps GRANT_RUNS and STANZA_RUNS away from 2).
if [[ -n "${FLOOD_LEGIT_PER_RATE:-}" ]] && declare -F make_plan > /dev/null && ! declare -F _pb_make_plan > /dev/null; then
  eval "_pb_make_plan() $(declare -f make_plan | tail -n +2)"
  make_plan() {
    if [[ "$2" == pb && "$4" == 2 ]]; then
      _pb_make_plan "$1" "$2" $((20 + ($3 - 20) * 5)) "$FLOOD_LEGIT_PER_RATE" "$5"
    else
      _pb_make_plan "$@"
    fi
  }
fi

# Memory of the daemon named by $PB_PIDFILE, KiB (null when unknown): pb_mem_kb VmHWM is the
# peak resident set, which for node includes ~100 MB of its own binary's file-backed pages;
# pb_mem_kb RssAnon is the private memory (heap, stacks, buffers) right now.
pb_mem_kb() {
  local pid; pid=$(tr -dc '0-9' < "${PB_PIDFILE:-/nonexistent}" 2> /dev/null)
  local v; v=$(awk -v k="$1:" '$1==k{print $2}' "/proc/${pid:-0}/status" 2> /dev/null)
  echo "${v:-null}"
}
