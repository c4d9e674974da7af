#!/usr/bin/env bash
# The Meerkat demo on this machine (run as root): sets everything up, then runs a real
# collector (SQLite) and a real agent capturing live packets on a veth pair into a
# private network namespace, ships dumps over mutual TLS, and shows what arrived:
# the agent's health, a dump's records, and the flows built from them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
bash scripts/setup.sh
echo "[demo] building"
npm run build --silent

DEMO=$ROOT/.meerkat-demo
NS=mkdemo-peer-$$
VETH=mkd$$
HOST_IP=10.213.77.1
PEER_IP=10.213.77.2
PORT=${MEERKAT_DEMO_PORT:-18443}
ADMIN=${MEERKAT_DEMO_ADMIN:-19469}
M="node $ROOT/dist/console/cli.js"
A="node $ROOT/dist/agent/cli.js"
C="node $ROOT/dist/collector/cli.js"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  ip link del "$VETH" 2>/dev/null || true
}
trap cleanup EXIT
rm -rf "$DEMO"; mkdir -p "$DEMO"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "owner keys (anonymization key + NaCl box key pair), kept by the network owner"
$M keys init --dir "$DEMO/owner"

step "collector PKI and a one-time enrollment token"
$M pki init --state-dir "$DEMO/collector" --ip 127.0.0.1 --name localhost >/dev/null
echo "CA and server certificate in $DEMO/collector/pki"
TOKEN=$($M enroll-token create --state-dir "$DEMO/collector" --uses 1 --expires 1h --json | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')
echo "token: ${TOKEN:0:20}..."

step "collector: mutual TLS on 127.0.0.1:$PORT, SQLite store, health on 127.0.0.1:$ADMIN"
$C run --state-dir "$DEMO/collector" --listen 127.0.0.1:$PORT --admin 127.0.0.1:$ADMIN >"$DEMO/collector.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$ADMIN/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -s "http://127.0.0.1:$ADMIN/healthz"; echo

step "agent enrollment (its key pair is generated here and never leaves this host)"
mkdir -p "$DEMO/agent"
install -m 600 "$DEMO/owner/anon.key" "$DEMO/agent/anon.key"
$A enroll --collector "https://127.0.0.1:$PORT" --token "$TOKEN" --state-dir "$DEMO/agent"

step "a private network namespace as the peer ($PEER_IP), joined to this host ($HOST_IP) by a veth pair"
ip netns add "$NS"
ip link add "$VETH" type veth peer name "${VETH}p"
ip link set "${VETH}p" netns "$NS"
ip addr add $HOST_IP/24 dev "$VETH"; ip link set "$VETH" up
ip netns exec "$NS" ip addr add $PEER_IP/24 dev "${VETH}p"
ip netns exec "$NS" ip link set "${VETH}p" up
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" node "$ROOT/scripts/demo-peer.mjs" serve $PEER_IP &
pids+=($!)

step "agent: live capture (libpcap via cap) on $VETH, dumps every 3 s, shipped over mutual TLS"
$A run --state-dir "$DEMO/agent" --interface "$VETH" --dump-seconds 3 >"$DEMO/agent.log" 2>&1 &
AGENT=$!
pids+=($AGENT)
sleep 2
node "$ROOT/scripts/demo-peer.mjs" client $PEER_IP 8
sleep 5

step "agent health (meerkat-agent status)"
$A status --state-dir "$DEMO/agent"

step "a dump as the collector stored it (meerkat dump inspect): internal addresses are pseudonyms"
FIRST=$(find "$DEMO/collector/dumps" -name '*.mkd' | sort | head -1)
$M dump inspect "$FIRST" --limit 4

step "stopping the agent and the collector (open flows are written out)"
kill -INT $AGENT; wait $AGENT || true
kill -INT "${pids[0]}"; wait "${pids[0]}" || true

step "flows built by the collector from what the agent shipped (meerkat flows --db $DEMO/collector/meerkat.db)"
$M flows --db "$DEMO/collector/meerkat.db" --limit 12
PSEUDO=$($M flows --db "$DEMO/collector/meerkat.db" --json --limit 1 | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8").split("\n")[0]).orig_addr')

step "the owner, and only the owner, turns a pseudonym back into the real address"
$M deanon --keys "$DEMO/owner" "$PSEUDO"

echo
echo "database: $DEMO/collector/meerkat.db   raw dumps: $DEMO/collector/dumps   logs: $DEMO/*.log"
