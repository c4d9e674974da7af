// The agent's files as a Linux package installs them, staged under a root:
//
//   /usr/lib/meerkat-agent/   launcher, bundle (+ lazily loaded chunks and source maps), the
//                             Node runtime, the patched cap addon, package-hooks
//   /usr/bin/meerkat-agent    -> the launcher
//   <unit dir>/meerkat-agent.service
//   /etc/meerkat/agent.json   configuration (a conffile)
//   /usr/share/meerkat-agent/owner/   an organisation's keys and enrollment settings (0700/0600;
//                             only in packages built by `meerkat package agent`)
//   /usr/share/doc/meerkat-agent/
//
// The .deb and the .rpm stage the same tree; they differ in the unit directory and in the
// libpcap the addon links against (Debian names it libpcap.so.0.8, Red Hat libpcap.so.1).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { repoRoot } from '../../shared/util/repo-paths.js';
import { runtimeBinary } from './node-runtime.js';
import { copyInto, dir, link, put, putDocs } from './staging.js';
import { PackageBuildError, runTool } from './tool-run.js';
import type { OwnerPayload } from './owner-payload.js';

export const AGENT_LIB = 'usr/lib/meerkat-agent';
export const OWNER_DIR = 'usr/share/meerkat-agent/owner';
export const AGENT_CONFIG = 'etc/meerkat/agent.json';
export const MAINTAINER = 'Meerkat maintainers <packages@meerkat.example.org>';
/** the revision of patches/cap-0.2.1.patch the agent speaks to (agent/capture/cap-binding.ts) */
export const CAP_PATCH_REVISION = 'meerkat-cap-patch-6';

export interface LinuxAgentTree {
  version: string;
  /** where systemd units go: lib/systemd/system (Debian), usr/lib/systemd/system (Red Hat) */
  unitDir: string;
  /** the libpcap soname the addon is linked against in this package */
  libpcapSoname: 'libpcap.so.0.8' | 'libpcap.so.1';
  owner?: OwnerPayload;
}

export const THIRD_PARTY = [
  'Files: usr/lib/meerkat-agent/node\nCopyright: Node.js contributors\nLicense: MIT (https://github.com/nodejs/node/blob/main/LICENSE)',
  'Files: usr/lib/meerkat-agent/node_modules/cap/*\nCopyright: Brian White\nLicense: MIT (patched by Meerkat: patches/cap-0.2.1.patch)',
];

function bundleDir(): string {
  const d = join(repoRoot(), 'dist', 'agent-bundle');
  if (!existsSync(join(d, 'meerkat-agent.js'))) throw new PackageBuildError(`${d} has no agent bundle: run npm run build first`);
  return d;
}

/** The patched cap addon of this checkout (scripts/patch-cap.mjs builds it). */
export function linuxCapDir(): string {
  const d = join(repoRoot(), 'node_modules', 'cap');
  const addon = join(d, 'build', 'Release', 'cap.node');
  if (!existsSync(addon) || !readFileSync(addon).includes(CAP_PATCH_REVISION)) {
    throw new PackageBuildError(`${addon} is missing or lacks patch revision ${CAP_PATCH_REVISION}: run node scripts/patch-cap.mjs`);
  }
  return d;
}

/** The bundle's files (the launcher and meta.json are not shipped from here). */
export function bundleFiles(): { name: string; path: string }[] {
  const d = bundleDir();
  return readdirSync(d).filter((n) => n.endsWith('.js') || n.endsWith('.js.map')).sort().map((name) => ({ name, path: join(d, name) }));
}

/** The organisation's files, 0700/0600 root: package-hooks installs them for the service account. */
export function stageOwnerFiles(root: string, ownerDir: string, o: OwnerPayload, newline = '\n'): void {
  dir(root, ownerDir, 0o700);
  put(root, `${ownerDir}/enroll.conf`, `# written by meerkat package agent\nMEERKAT_COLLECTOR=${o.collector}\nMEERKAT_TOKEN=${o.token}\n`.replaceAll('\n', newline), 0o600);
  put(root, `${ownerDir}/anon.key`, o.anonKey, 0o600);
  put(root, `${ownerDir}/box.pub`, o.boxPub, 0o600);
  dir(root, `${ownerDir}/operator-keys`, 0o700);
  for (const k of o.operatorKeys) put(root, `${ownerDir}/operator-keys/${k.keyId}.pub`, k.content, 0o600);
  if (o.caPem) put(root, `${ownerDir}/ca.crt`, o.caPem, 0o600);
}

export function stageLinuxAgent(root: string, t: LinuxAgentTree): void {
  const repo = repoRoot();
  dir(root, AGENT_LIB);
  for (const f of bundleFiles()) copyInto(root, `${AGENT_LIB}/${f.name}`, f.path);
  // installed, the entry point runs only through the launcher and the runtime beside it: its
  // "#!/usr/bin/env node" would name a node the package does not depend on (a comment of the
  // same line count keeps the source map true)
  const entry = join(root, AGENT_LIB, 'meerkat-agent.js');
  writeFileSync(entry, readFileSync(entry, 'utf8').replace(/^#![^\n]*/, '// meerkat-agent: started by its launcher'));
  put(root, 'usr/share/lintian/overrides/meerkat-agent', readFileSync(join(repo, 'installer', 'linux', 'lintian-overrides'), 'utf8'));
  copyInto(root, `${AGENT_LIB}/meerkat-agent`, join(repo, 'installer', 'linux', 'meerkat-agent'), 0o755);
  copyInto(root, `${AGENT_LIB}/package-hooks`, join(repo, 'installer', 'linux', 'agent-package-hooks'), 0o755);
  copyInto(root, `${AGENT_LIB}/node`, runtimeBinary('linux-x64'), 0o755);
  const cap = linuxCapDir();
  const capTo = `${AGENT_LIB}/node_modules/cap`;
  copyInto(root, `${capTo}/package.json`, join(cap, 'package.json'));
  copyInto(root, `${capTo}/LICENSE`, join(cap, 'LICENSE'));
  copyInto(root, `${capTo}/lib/Cap.js`, join(cap, 'lib', 'Cap.js'));
  copyInto(root, `${capTo}/lib/Decoders.js`, join(cap, 'lib', 'Decoders.js'));
  const addon = `${capTo}/build/Release/cap.node`;
  copyInto(root, addon, join(cap, 'build', 'Release', 'cap.node'));
  runTool('strip', ['--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', join(root, addon)]);
  if (t.libpcapSoname !== 'libpcap.so.0.8') {
    // same upstream libpcap ABI, another distribution's file name for it
    runTool('patchelf', ['--replace-needed', 'libpcap.so.0.8', t.libpcapSoname, join(root, addon)]);
  }
  link(root, 'usr/bin/meerkat-agent', '../lib/meerkat-agent/meerkat-agent');
  put(root, 'usr/share/man/man1/meerkat-agent.1.gz', gzipSync(readFileSync(join(repo, 'installer', 'linux', 'meerkat-agent.1')), { level: 9 }));
  copyInto(root, `${t.unitDir}/meerkat-agent.service`, join(repo, 'installer', 'linux', 'meerkat-agent.service'));
  const config = t.owner ? { stateDir: '/var/lib/meerkat-agent', ...t.owner.config } : { stateDir: '/var/lib/meerkat-agent' };
  put(root, AGENT_CONFIG, JSON.stringify(config, null, 2) + '\n');
  if (t.owner) stageOwnerFiles(root, OWNER_DIR, t.owner);
  putDocs(root, { name: 'meerkat-agent', version: t.version, maintainer: MAINTAINER, readme: readFileSync(join(repo, 'installer', 'README.md'), 'utf8'), thirdParty: THIRD_PARTY });
}
