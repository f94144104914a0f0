# Bench adapter for spagate (../shared/bench/run.sh, DAEMON_ADAPTER=this file).
# Sourced by run.sh; the contract is in ../shared/bench/README.md ("Plugging in another daemon").
# spagate gets fwknopd's flags and files unchanged. SPAGATE_BACKEND (nftables | iptables)
# picks the firewall backend by appending FIREWALL_BACKEND to the harness's fwknopd.conf;
# SPAGATE_EXTRA adds more `KEY VALUE;` lines. Namespace names come from PB_NS_* so the bench
# can run beside another copy of the harness.

DAEMON_NAME=spagate
SPAGATE_DIR=${SPAGATE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
SPAGATE_BACKEND=${SPAGATE_BACKEND:-nftables}
SPAGATE_BIN="$SPAGATE_DIR/dist/cli/main.js"
[[ -f "$SPAGATE_BIN" ]] || { echo "spagate adapter: $SPAGATE_BIN missing; run npm run build" >&2; return 1; }

daemon_version() {
  echo "spagate $(node -p "require('$SPAGATE_DIR/package.json').version") $(git -C "$SPAGATE_DIR" rev-parse --short HEAD 2>/dev/null)+worktree, backend $SPAGATE_BACKEND (node $(node --version))"
}

daemon_prepare() {
  printf 'FIREWALL_BACKEND %s;\n' "$SPAGATE_BACKEND" >> "$PB_CONF"
  if [[ -n "${SPAGATE_EXTRA:-}" ]]; then
    tr ';' '\n' <<< "$SPAGATE_EXTRA" | sed '/^[[:space:]]*$/d; s/$/;/' >> "$PB_CONF"
  fi
  mkdir -p "$PB_WORK/data"
}

daemon_cmd() {
  # The same V8 setting as packaging/spagate.service and the Dockerfile.
  echo "env NODE_OPTIONS=--max-semi-space-size=1 node \"$SPAGATE_BIN\" start -f -c \"\$PB_CONF\" -a \"\$PB_ACCESS\" -i \"\$PB_INTF\" -d \"\$PB_DIGEST\" -p \"\$PB_PIDFILE\" --data-dir \"\$PB_WORK/data\""
}

# Logged once capture, firewall and sweeper are up (src/daemon.ts).
DAEMON_READY_REGEX='"msg":"spagate listening"'
DAEMON_READY_CMD=''

# nft monitor lines of a FORWARD_ALL grant:
#   nftables: add element ip spagate fwd_all { 198.18.0.1 ... comment "_exp_<s> spagate:<id>" }
#   iptables: add rule ip filter FWKNOP_FORWARD ip saddr 198.18.0.1 ... comment "_exp_<s> spagate:<id>"
# The element regex needs the comment: the placeholder add and delete that make each nft
# transaction idempotent carry none, and must not count as a grant or as its removal.
# Kernel timeouts send no delete event, so with nftables rule_removed stays false and the
# connect-based expiry figures are the ones to read. (SNAT map/rule lines match neither.)
DAEMON_GRANT_REGEX='FWKNOP_FORWARD|ip spagate fwd_.*_exp_'

# The `_exp_<epoch>` stamp (whole seconds, rounded up) of the client's grant.
if [[ "$SPAGATE_BACKEND" == iptables ]]; then
  DAEMON_RULE_INFO_CMD="ip netns exec ${PB_NS_GW:-pbgw} iptables -S FWKNOP_FORWARD"
else
  DAEMON_RULE_INFO_CMD="ip netns exec ${PB_NS_GW:-pbgw} nft list set ip spagate fwd_all"
fi

# spagate logs no line per rejected packet at info level (rejections are summarised), so the
# harness cannot count the packets it looked at.
DAEMON_PACKET_LOG_REGEX=''

source "$(dirname "${BASH_SOURCE[0]}")/scenario.sh"

# Phase many calls this while the daemon still runs, so its peak memory can be read here.
daemon_log_summary() {
  local f=$1
  echo "vmhwm_kb=$(pb_mem_kb VmHWM)" "rss_anon_kb=$(pb_mem_kb RssAnon)" "grants_logged=$(grep -c '"msg":"grant installed"' "$f")" \
       "expired_logged=$(grep -o '"msg":"expired grants removed"' "$f" | wc -l)" \
       "errors=$(grep -c '"level":50' "$f")" "warnings=$(grep -c '"level":40' "$f")"
}
