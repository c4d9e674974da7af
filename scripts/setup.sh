#!/usr/bin/env bash
# Sets up everything Meerkat needs on a Debian/Ubuntu machine (run as root):
# system packages (only the missing ones), npm dependencies (npm ci when the
# lock file changed), nothing else. Idempotent; safe to run before every test.
set -euo pipefail
quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1
say() { [ "$quiet" = 1 ] || echo "[setup] $*"; }
cd "$(dirname "$0")/.."

# libpcap-dev + build tools + patch: the `cap` addon is patched and compiles against libpcap.
# tshark: reference decoder in tests. argus: reference in benchmarks and flow checks.
# iproute2/nftables/iptables: namespaces and interdiction tests. tcpreplay/tcpdump: traffic tools. curl: the demo.
# systemd: systemd-analyze checks the agent's service unit.
# nats-server + postgresql: the scale-out tests and bench start their own JetStream server and database cluster.
# Packaging (npm run package, test/installer): lintian, rpm (rpmbuild), nsis (makensis), the
# mingw-w64 C cross-compiler and gendef (Windows capture binding, service wrapper), patchelf (the
# .rpm's libpcap name), cpio (reading an .rpm), wine + wine64 (setup.exe tested under Wine; 64-bit
# only, no i386 architecture needed: the installer is amd64).
# chromium: the web console's tests drive Debian's browser (playwright-core, nothing downloaded).
# valgrind: instruction counts of whole commands (bench/instruction-profile.ts), repeatable where times are not.
pkgs=(libpcap-dev build-essential patch python3 tshark tcpdump argus-server argus-client iproute2 nftables iptables tcpreplay procps curl systemd nats-server postgresql
  lintian rpm nsis gcc-mingw-w64-x86-64-posix mingw-w64-tools patchelf cpio wine wine64 chromium valgrind)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "[setup] missing system packages: ${missing[*]} (run this script as root, or install them)" >&2
    exit 1
  fi
  say "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies: reinstall when package-lock.json is newer than the installed tree.
stamp=node_modules/.meerkat-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
# the patched libpcap binding (patches/README.md): a no-op when already applied and built
node scripts/patch-cap.mjs | { grep -v '^$' || true; } | while read -r l; do say "$l"; done
say "ready"
