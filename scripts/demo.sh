#!/usr/bin/env bash
# The Meerkat demo on this machine (run as root). It sets everything up, then runs a real
# collector (SQLite) and a real agent capturing live packets, each in a private network
# namespace joined by a veth pair, and shows: dumps shipped over mutual TLS, flows, a
# command round trip (sealed inventory, hybrid capture, isolate/release), and an alert that
# fires for real with its automatic response (targeted full capture of the peer).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
bash scripts/setup.sh
echo "[demo] building"
npm run build --silent

DEMO=$ROOT/.meerkat-demo
HOSTNS=mkdemo-host-$$          # the endpoint: the agent runs here
NETNS=mkdemo-net-$$            # the collector, a normal peer and a "malicious" peer
AGENT_IP=10.213.77.1
COL_IP=10.213.77.2
PEER_IP=10.213.77.20           # internal peer: pseudonymized in all data
BAD_IP=10.213.77.66            # outside the declared internal prefix: "external", on the blacklist
M="node $ROOT/dist/console/cli.js"
A="$ROOT/dist/agent-bundle/meerkat-agent"   # the agent as it ships: bundle + launcher
C="node $ROOT/dist/collector/cli.js"
inhost() { ip netns exec "$HOSTNS" "$@"; }
innet() { ip netns exec "$NETNS" "$@"; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for ns in "$HOSTNS" "$NETNS"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap cleanup EXIT
rm -rf "$DEMO"; mkdir -p "$DEMO"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# the one convention (docs/configuration.md): the collector's commands find its configuration and
# state from these, the console its settings (API, operator directory) and the owner's keys
export MEERKAT_COLLECTOR_CONFIG="$DEMO/collector.json" MEERKAT_STATE_DIR="$DEMO/collector" \
  MEERKAT_CONFIG="$DEMO/console.json" MEERKAT_OWNER_KEYS="$DEMO/owner" MEERKAT_AGENT_CONFIG="$DEMO/agent.json" MEERKAT_LOG_LEVEL=warn
OP="innet $M"
agent_id() { innet $M agents --json 2>/dev/null | head -1 | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8") || "{}").agentId ?? ""' 2>/dev/null || true; }
hosttraffic() { inhost node "$ROOT/scripts/demo-peer.mjs" client "$1" "$2"; }

step "the network owner's keys (anonymization + NaCl box): they never reach the collector"
$M keys init

step "two private network namespaces: the endpoint ($AGENT_IP) and a network with the collector ($COL_IP) and peers"
ip netns add "$HOSTNS"; ip netns add "$NETNS"
ip link add mkd$$a netns "$HOSTNS" type veth peer name mkd$$b netns "$NETNS"
inhost ip addr add $AGENT_IP/24 dev mkd$$a; inhost ip link set mkd$$a up; inhost ip link set lo up
innet ip addr add $COL_IP/24 dev mkd$$b; innet ip addr add $PEER_IP/24 dev mkd$$b; innet ip addr add $BAD_IP/24 dev mkd$$b
innet ip link set mkd$$b up; innet ip link set lo up
innet node "$ROOT/scripts/demo-peer.mjs" serve 0.0.0.0 &
pids+=($!)

step "the collector host, one step: PKI, configuration, the default organisation, the first operator (certificate + signing key; admin of the default organisation), a token"
$C init --ip $COL_IP --listen $COL_IP:18443 --ops 127.0.0.1:19469 --operator demo-operator --operator-dir "$DEMO/operator" --non-interactive \
  | sed -n '1,9p'
DEMO_PASSWORD=demo-console-password
echo "$DEMO_PASSWORD" | $C user passwd demo-operator --password-stdin >/dev/null && echo "web console password of demo-operator: $DEMO_PASSWORD"
TOKEN=$($C token create --uses 1 --expires 1h)
echo "a one-use token for the endpoint: ${TOKEN:0:20}..."
# the demo's analysis: a threat feed with the "malicious" peer, an automatic response to its alerts
echo "# demo threat feed" > "$DEMO/blacklist.txt"; echo "$BAD_IP" >> "$DEMO/blacklist.txt"
node -e '
  const fs = require("fs"); const [file, feed] = process.argv.slice(1);
  const c = JSON.parse(fs.readFileSync(file, "utf8"));
  Object.assign(c, { limits: { heartbeatSec: 2 },
    analyzers: [{ builtin: "threat-intel", config: { feeds: [{ name: "demo-feed", path: feed, severity: "high" }] } }],
    responses: [{ category: "threat-intel", command: { type: "capture-full", forSec: 600 } }] });
  fs.writeFileSync(file, JSON.stringify(c, null, 2));' "$MEERKAT_COLLECTOR_CONFIG" "$DEMO/blacklist.txt"

step "collector: mutual TLS on $COL_IP:18443, SQLite store, the operators' API on 127.0.0.1:9470, health and metrics on 127.0.0.1:19469"
ip netns exec "$NETNS" $C run >"$DEMO/collector.log" 2>&1 &
COLLECTOR=$!
pids+=($COLLECTOR)
for _ in $(seq 100); do innet curl -sf http://127.0.0.1:19469/healthz >/dev/null 2>&1 && break; sleep 0.2; done
innet curl -s http://127.0.0.1:19469/healthz; echo
echo "web console (while the demo runs, inside its namespace): https://127.0.0.1:9470/  user demo-operator  password $DEMO_PASSWORD"
echo "  e.g. ip netns exec $NETNS chromium --headless --no-sandbox --ignore-certificate-errors --screenshot https://127.0.0.1:9470/"

step "agent enrollment: its key pair is made on the endpoint; the owner's keys installed, the operator key pinned, from files"
cat > "$DEMO/agent.json" <<JSON
{ "stateDir": "$DEMO/agent", "capture": { "interfaces": "any" }, "dump": { "maxSeconds": 3 },
  "anonymize": { "policy": "internal", "internalPrefixes": ["10.213.77.0/27"] } }
JSON
inhost $A enroll --collector "https://$COL_IP:18443" --token "$TOKEN" --anon-key "$DEMO/owner/anon.key" --box-pub "$DEMO/owner/box.pub" --operator-key "$DEMO/operator/op.pub"
inhost $A response-key add "$DEMO/collector/orgs/default/response-key/op.pub" --allow capture.peer >/dev/null
echo "the default organisation's response key authorised for capture.peer only"

step "agent: live capture (libpcap via cap) in the endpoint namespace, dumps every 3 s, shipped over mutual TLS"
ip netns exec "$HOSTNS" $A run >"$DEMO/agent.log" 2>&1 &
AGENT=$!
pids+=($AGENT)
for _ in $(seq 100); do [ -n "$(agent_id)" ] && break; sleep 0.3; done
AID=$(agent_id)
hosttraffic $PEER_IP 4
sleep 4
$OP agents

step "inventory: sealed on the endpoint to the owner's key; the collector holds only ciphertext"
$OP info "$AID" --owner-keys /nonexistent 2>/dev/null | head -12 || true
echo "-- opened with the owner's key:"
$OP info "$AID" | head -16

step "hybrid capture: 64 payload bytes per packet from now on (signed command, effective at once)"
$OP capture "$AID" --snaplen 64 --wait 20
hosttraffic $PEER_IP 3
sleep 4
LAST=$(find "$DEMO/collector/orgs/default/dumps" -name '*.mkd' | sort | tail -1)
$M dump inspect "$LAST" --header-only | grep -E 'sequence|snapLen|packetCount'
$M dump inspect "$LAST" --json | grep -m1 payloadHex | cut -c1-220
$OP capture "$AID" --snaplen 0 --wait 20 >/dev/null

step "an alert for real: the endpoint connects to a blacklisted address ($BAD_IP)"
hosttraffic $BAD_IP 2
sleep 4
$OP alerts | head -6
step "the automatic response: full capture of that peer only, for 10 minutes (signed with the collector's response key)"
$OP commands | head -8
BEFORE=$(find "$DEMO/collector/orgs/default/dumps" -name '*.mkd' | wc -l)
hosttraffic $BAD_IP 2; hosttraffic $PEER_IP 2
sleep 4
echo "payload bytes kept per peer in the dumps shipped since the response (* = pseudonym of an internal host):"
for f in $(find "$DEMO/collector/orgs/default/dumps" -name '*.mkd' | sort | tail -n +$((BEFORE + 1))); do $M dump inspect "$f" --json | tail -n +2; done | node -e '
  const lines = require("fs").readFileSync(0, "utf8").trim().split("\n").map(JSON.parse);
  const per = {};
  for (const r of lines) {
    const out = r.dir === "out";
    const peer = (out ? r.dst : r.src) + ((out ? r.dstPseudonym : r.srcPseudonym) ? "*" : "");
    per[peer] = (per[peer] ?? 0) + (r.payloadHex ? r.payloadHex.length / 2 : 0);
  }
  for (const [p, n] of Object.entries(per)) console.log(`  ${p.padEnd(18)} ${n} bytes`);'

step "interdiction: isolate the endpoint (nftables), keeping the management channel"
$OP isolate "$AID" --wait 20 | head -12
if inhost curl -s -m 3 -o /dev/null "http://$PEER_IP:8080/"; then echo "peer still reachable (unexpected)"; else echo "endpoint -> peer: blocked"; fi
$OP agents | head -3
$OP release "$AID" --wait 20 | head -3
if inhost curl -s -m 3 -o /dev/null "http://$PEER_IP:8080/"; then echo "endpoint -> peer: reachable again"; fi

step "stopping the agent and the collector (open flows are written out)"
kill -TERM $AGENT; wait $AGENT || true
kill -TERM $COLLECTOR; wait $COLLECTOR || true

step "flows built by the collector from what the agent shipped"
$M flows --db "$DEMO/collector/orgs/default/meerkat.db" --limit 10 --deanon

echo
echo "database: $DEMO/collector/orgs/default/meerkat.db   raw dumps: $DEMO/collector/orgs/default/dumps   logs: $DEMO/*.log"
