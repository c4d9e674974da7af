// The agent's Linux packages: meerkat-agent_<version>_amd64.deb and
// meerkat-agent-<version>.x86_64.rpm, from one staged tree each (agent-tree.ts), with the
// maintainer scripts of installer/linux/ (all real work is in package-hooks, shared by both).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../shared/util/repo-paths.js';
import { stageLinuxAgent, AGENT_CONFIG, MAINTAINER } from './agent-tree.js';
import { buildDeb, type Compression } from './deb-package.js';
import { buildRpm } from './rpm-package.js';
import type { OwnerPayload } from './owner-payload.js';

export interface AgentPackageOptions {
  version: string;
  outDir: string;
  /** scratch space for staging (removed afterwards) */
  workDir: string;
  compression: Compression;
  /** an organisation's payload (`meerkat package agent`); without it the generic package */
  owner?: OwnerPayload;
}

const SUMMARY = 'Meerkat endpoint agent: captures, anonymizes and ships host traffic';
const DESCRIPTION = [
  "Captures this host's own packets (libpcap), drops link-local noise, anonymizes internal addresses with the network owner's key, packs compact dump files and ships them over mutual TLS to a Meerkat collector. Runs as a systemd service under its own account with CAP_NET_RAW and CAP_NET_ADMIN only.",
  'Carries its own Node.js runtime. Enrolls at install with MEERKAT_COLLECTOR and MEERKAT_TOKEN in the environment of apt, or in /etc/meerkat/enroll.conf.',
];

function script(name: string): string {
  return readFileSync(join(repoRoot(), 'installer', 'linux', 'deb-agent', name), 'utf8');
}

export function buildAgentDeb(o: AgentPackageOptions): string {
  const root = join(o.workDir, 'deb-root');
  rmSync(root, { recursive: true, force: true });
  stageLinuxAgent(root, { version: o.version, unitDir: 'lib/systemd/system', libpcapSoname: 'libpcap.so.0.8', ...(o.owner ? { owner: o.owner } : {}) });
  try {
    return buildDeb({
      name: 'meerkat-agent',
      version: o.version,
      arch: 'amd64',
      maintainer: MAINTAINER,
      section: 'net',
      // node: glibc 2.28; the cap addon: libstdc++ (GLIBCXX_3.4.21) and libpcap; the hooks: useradd
      // (passwd) and setpriv (util-linux, essential)
      depends: ['libc6 (>= 2.28)', 'libstdc++6 (>= 5.2)', 'libpcap0.8 (>= 1.5.1)', 'passwd'],
      recommends: ['nftables'],
      summary: SUMMARY,
      description: DESCRIPTION,
      root,
      scripts: { postinst: script('postinst'), prerm: script('prerm'), postrm: script('postrm') },
      conffiles: [`/${AGENT_CONFIG}`],
      outDir: o.outDir,
      compression: o.compression,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function buildAgentRpm(o: AgentPackageOptions): string {
  const root = join(o.workDir, 'rpm-root');
  rmSync(root, { recursive: true, force: true });
  stageLinuxAgent(root, { version: o.version, unitDir: 'usr/lib/systemd/system', libpcapSoname: 'libpcap.so.1', ...(o.owner ? { owner: o.owner } : {}) });
  const hooks = '/usr/lib/meerkat-agent/package-hooks';
  try {
    return buildRpm({
      name: 'meerkat-agent',
      version: o.version,
      summary: SUMMARY,
      description: DESCRIPTION.join('\n\n'),
      license: 'Proprietary',
      requires: ['glibc >= 2.28', 'libstdc++', 'libpcap >= 14:1.5.1', 'shadow-utils', 'util-linux'],
      recommends: ['nftables'],
      root,
      ownedDirs: ['/usr/lib/meerkat-agent', '/usr/share/meerkat-agent', '/usr/share/doc/meerkat-agent', '/etc/meerkat'],
      configFiles: [`/${AGENT_CONFIG}`],
      // $1 in %preun/%postun: 0 = erase, 1 = upgrade (the new package's %post already ran)
      scripts: {
        post: `${hooks} configure`,
        preun: `if [ "$1" -eq 0 ]; then ${hooks} remove; fi`,
        postun: 'if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi',
      },
      outDir: o.outDir,
      workDir: join(o.workDir, 'rpmbuild'),
      compression: o.compression,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
