# The harness's own fwknopd adapter, with its rule listing pointed at the namespace in use
# (the shared adapter names `pbgw`; scripts/bench/gateway.ts renames the namespaces).
source "$BENCH_DIR/daemons/fwknopd.sh"
DAEMON_RULE_INFO_CMD="ip netns exec ${PB_NS_GW:-pbgw} iptables -S FWKNOP_FORWARD"
source "$(dirname "${BASH_SOURCE[0]}")/scenario.sh"

# Peak resident memory as well, read while the daemon still runs (phase many calls this
# before stopping it); the pid comes from the daemon's own pid file.
eval "_pb_fwknopd_log_summary() $(declare -f daemon_log_summary | tail -n +2)"
daemon_log_summary() {
  _pb_fwknopd_log_summary "$1"
  echo "vmhwm_kb=$(pb_mem_kb VmHWM)" "rss_anon_kb=$(pb_mem_kb RssAnon)"
}
