// The Windows agent's native parts, cross-compiled here with Debian's mingw-w64:
//
//   cap.node                    the capture binding (installer/windows/capture/cap_win.c) on
//                               Node-API, linked against import libraries made here: wpcap.dll's
//                               from installer/windows/capture/wpcap.def (Npcap's SDK is not
//                               downloadable), node.exe's from the Node-API exports of the very
//                               node.exe the package carries (gendef lists them)
//   meerkat-agent-service.exe   the Windows service wrapper (installer/windows/service/)
//
// Headers: libpcap's public ones from Debian's libpcap-dev (the API Npcap implements), Node-API's
// from the runtime tarball. C only: no C++ runtime to carry, no C++ ABI to match.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../shared/util/repo-paths.js';
import { buildCacheDir, runtimeBinary, runtimeTarball } from './node-runtime.js';
import { PackageBuildError, runTool } from './tool-run.js';

const CC = 'x86_64-w64-mingw32-gcc';
const DLLTOOL = 'x86_64-w64-mingw32-dlltool';
const CFLAGS = ['-O2', '-Wall', '-Wextra', '-Werror', '-std=c11', '-D_WIN32_WINNT=0x0601', '-static-libgcc', '-s'];

export interface WindowsNative {
  capAddon: string;
  serviceExe: string;
}

/** libpcap's public headers (pcap.h, pcap/*.h) from libpcap-dev, copied apart from /usr/include */
function pcapHeaders(work: string): string {
  const inc = join(work, 'pcap-include');
  if (!existsSync('/usr/include/pcap/pcap.h')) throw new PackageBuildError('libpcap headers missing: /usr/include/pcap/pcap.h (Debian package libpcap-dev)');
  rmSync(inc, { recursive: true, force: true });
  mkdirSync(join(inc, 'pcap'), { recursive: true });
  runTool('sh', ['-c', `cp /usr/include/pcap/*.h "${inc}/pcap/" && cp /usr/include/pcap.h "${inc}/"`]);
  return inc;
}

/** Node-API's headers from the runtime tarball (the same for every platform). */
function nodeApiHeaders(work: string): string {
  const dir = join(work, 'node-include');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const names = ['node_api.h', 'node_api_types.h', 'js_native_api.h', 'js_native_api_types.h'].map((h) => `package/include/node/${h}`);
  runTool('tar', ['-xzf', runtimeTarball('linux-x64'), '-C', dir, '--strip-components=3', ...names]);
  return dir;
}

/** Import library for node.exe's Node-API functions, from the exports of the node.exe shipped. */
function nodeImportLib(work: string): string {
  const all = runTool('gendef', ['-', runtimeBinary('win-x64')]);
  const napi = all.split('\n').map((l) => l.trim()).filter((l) => /^(napi|node_api)_\w+$/.test(l));
  if (napi.length < 100) throw new PackageBuildError(`gendef found only ${napi.length} Node-API exports in node.exe`);
  const def = join(work, 'node.def');
  writeFileSync(def, `LIBRARY node.exe\nEXPORTS\n${napi.join('\n')}\n`);
  const lib = join(work, 'libnode.a');
  runTool(DLLTOOL, ['-d', def, '-l', lib]);
  return lib;
}

// built parts by cache folder and source digest: a process building several setup.exe (a
// release and organisations' packages, the tests) compiles them once; a changed source rebuilds
const builtNative = new Map<string, WindowsNative>();

export function buildWindowsNative(cache = buildCacheDir()): WindowsNative {
  const src = join(repoRoot(), 'installer', 'windows');
  const digest = createHash('sha256');
  for (const f of ['capture/cap_win.c', 'capture/wpcap.def', 'service/agent_service.c']) digest.update(readFileSync(join(src, f)));
  const key = `${cache}\0${digest.digest('hex')}`;
  const known = builtNative.get(key);
  if (known && existsSync(known.capAddon) && existsSync(known.serviceExe)) return known;
  const made = compileWindowsNative(src, cache);
  builtNative.set(key, made);
  return made;
}

function compileWindowsNative(src: string, cache: string): WindowsNative {
  const work = join(cache, 'windows-native');
  mkdirSync(work, { recursive: true });
  const wpcap = join(work, 'libwpcap.a');
  runTool(DLLTOOL, ['-d', join(src, 'capture', 'wpcap.def'), '-l', wpcap]);
  const capAddon = join(work, 'cap.node');
  runTool(CC, [...CFLAGS, '-shared', '-I', pcapHeaders(work), '-I', nodeApiHeaders(work), join(src, 'capture', 'cap_win.c'), '-o', capAddon, nodeImportLib(work), wpcap, '-lws2_32']);
  const serviceExe = join(work, 'meerkat-agent-service.exe');
  runTool(CC, [...CFLAGS, '-municode', join(src, 'service', 'agent_service.c'), '-o', serviceExe, '-ladvapi32', '-lshell32', '-lole32']);
  return { capAddon, serviceExe };
}

/** The DLLs a PE file imports (objdump -p), for checks. */
export function peImports(file: string): string[] {
  const out = runTool('x86_64-w64-mingw32-objdump', ['-p', file]);
  return [...out.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1]!);
}

export function copyNative(n: WindowsNative, capDir: string, programDir: string): void {
  copyFileSync(n.capAddon, join(capDir, 'cap.node'));
  copyFileSync(n.serviceExe, join(programDir, 'meerkat-agent-service.exe'));
  // the index.js beside the addon gives it cap's JavaScript surface
  writeFileSync(join(capDir, 'index.js'), readFileSync(join(repoRoot(), 'installer', 'windows', 'capture', 'index.js')));
}
