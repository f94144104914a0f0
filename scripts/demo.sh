#!/usr/bin/env bash
# `npm run demo`: the main job, end to end, on this machine (as root).
# Installs what it needs, builds, creates three network namespaces (LAN client, gateway,
# WAN host), runs `spagate start` on the gateway with the fwknop 2.6.6 "SPA gateway" stanza
# (FORWARD_ALL Y, DISABLE_DNAT Y, ENABLE_IPT_SNAT Y), and shows a LAN client that is blocked,
# knocks with `spagate knock`, gets through, and is blocked again after expiry. Cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

[ "$(id -u)" = 0 ] || { echo "demo: run as root (network namespaces and iptables)"; exit 1; }
need=()
for p in libpcap-dev iptables nftables iproute2 conntrack fwknop-client; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run -s build

P="sgdemo$$"
LAN=${P}lan GW=${P}gw WAN=${P}wan
WORK=$(mktemp -d /tmp/spagate-demo.XXXXXX)
DAEMON_PID=""
cleanup() {
  set +e
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  for ns in "$LAN" "$GW" "$WAN"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9; ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
probe() { # connect from the LAN client to the WAN host; print what the WAN host saw
  if out=$(ip netns exec "$LAN" node test/helpers/net-tools.mjs connect 203.0.113.2 8022 700); then
    echo "   connected: the WAN host saw source $out"
  else
    echo "   blocked: no connection to 203.0.113.2:8022"
  fi
}

step "network: LAN client 10.77.1.2 -- gateway 10.77.1.1 | 203.0.113.1 -- WAN host 203.0.113.2"
for ns in "$LAN" "$GW" "$WAN"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add ${P}l0 netns "$LAN" type veth peer name ${P}g0 netns "$GW"
ip link add ${P}g1 netns "$GW" type veth peer name ${P}w0 netns "$WAN"
ip -n "$LAN" addr add 10.77.1.2/24 dev ${P}l0; ip -n "$LAN" link set ${P}l0 up
ip -n "$GW" addr add 10.77.1.1/24 dev ${P}g0; ip -n "$GW" link set ${P}g0 up
ip -n "$GW" addr add 203.0.113.1/24 dev ${P}g1; ip -n "$GW" link set ${P}g1 up
ip -n "$WAN" addr add 203.0.113.2/24 dev ${P}w0; ip -n "$WAN" link set ${P}w0 up
ip -n "$LAN" route add default via 10.77.1.1
ip netns exec "$GW" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$GW" iptables -P FORWARD DROP
echo "   gateway FORWARD policy: DROP"
ip netns exec "$WAN" timeout 120 node test/helpers/net-tools.mjs listen 8022 >/dev/null 2>&1 & disown
sleep 0.5

step "keys and configuration (fwknop syntax)"
node dist/cli/main.js keygen > "$WORK/keys"
KEY=$(sed -n 's/^KEY_BASE64: //p' "$WORK/keys"); HMAC=$(sed -n 's/^HMAC_KEY_BASE64: //p' "$WORK/keys")
cat > "$WORK/fwknopd.conf" <<CONF
PCAP_INTF ${P}g0
ENABLE_IPT_FORWARDING Y
ENABLE_IPT_SNAT Y
SNAT_TRANSLATE_IP 203.0.113.1
SPAGATE_DATA_DIR $WORK/data
FIREWALL_BACKEND iptables
DASHBOARD_LISTEN off
CONF
cat > "$WORK/access.conf" <<CONF
SOURCE ANY
KEY_BASE64 $KEY
HMAC_KEY_BASE64 $HMAC
FW_ACCESS_TIMEOUT 8
FORWARD_ALL Y
DISABLE_DNAT Y
CONF
chmod 600 "$WORK/access.conf"
cat > "$WORK/fwknoprc" <<CONF
[gateway]
SPA_SERVER 10.77.1.1
ACCESS tcp/22
ALLOW_IP source
KEY_BASE64 $KEY
HMAC_KEY_BASE64 $HMAC
USE_HMAC Y
CONF
chmod 600 "$WORK/fwknoprc"
sed 's/\(KEY_BASE64\) .*/\1 .../' "$WORK/access.conf" | sed 's/^/   access.conf: /'

step "start spagate on the gateway (log: $WORK/spagate.log)"
ip netns exec "$GW" node dist/cli/main.js start -f -c "$WORK/fwknopd.conf" -a "$WORK/access.conf" > "$WORK/spagate.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 50); do grep -q 'spagate listening' "$WORK/spagate.log" && break; sleep 0.1; done
grep -q 'spagate listening' "$WORK/spagate.log" || { cat "$WORK/spagate.log"; exit 1; }
echo "   running"

step "1. before SPA, the LAN client tries the WAN host"
probe

step "2. the client knocks: spagate knock -n gateway (one UDP packet to 10.77.1.1:62201)"
ip netns exec "$LAN" node dist/cli/main.js knock --rc-file "$WORK/fwknoprc" -n gateway
sleep 0.3
echo "   rules on the gateway:"
ip netns exec "$GW" iptables -S FWKNOP_FORWARD | sed 's/^/     /'
ip netns exec "$GW" iptables -t nat -S | grep -E 'FWKNOP_(POSTROUTING|MASQUERADE) .*_exp_' | sed 's/^/     /' || true

step "3. after SPA"
probe

step "4. waiting for the 8 s grant to expire"
sleep 9
probe
echo "   rules left in FWKNOP_FORWARD for the client: $(ip netns exec "$GW" iptables -S FWKNOP_FORWARD | grep -c 10.77.1.2 || true)"

step "events logged by the daemon"
grep -E '"msg":"(grant installed|grant expired|expired grants removed|SPA packet rejected)"' "$WORK/spagate.log" | head -5 | sed 's/^/   /'
echo
echo "demo finished; cleaning up"
