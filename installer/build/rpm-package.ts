// Builds an .rpm from a staged file tree with rpmbuild: a spec written here whose %install
// copies the tree, a %files list generated from it (modes as staged, configuration files
// %config(noreplace)), and scriptlets given by the caller. Automatic dependency scanning and
// the distribution's post-install steps are off: the tree is final as staged (stripped,
// patched), and the runtime's libraries are named in Requires by hand.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Compression } from './deb-package.js';
import { walk } from './staging.js';
import { runTool } from './tool-run.js';

export interface RpmSpec {
  name: string;
  version: string;
  summary: string;
  description: string;
  license: string;
  requires: string[];
  recommends?: string[];
  root: string;
  /** directories the package owns (everything under them too); others (/usr, /etc) are the system's */
  ownedDirs: string[];
  /** absolute paths of configuration files */
  configFiles: string[];
  scripts: Partial<Record<'pre' | 'post' | 'preun' | 'postun', string>>;
  outDir: string;
  workDir: string;
  compression: Compression;
}

function fileList(s: RpmSpec): string[] {
  const owned = (p: string): boolean => s.ownedDirs.some((d) => p === d || p.startsWith(`${d}/`));
  const lines: string[] = [];
  for (const e of walk(s.root)) {
    const abs = `/${e.path}`;
    if (e.kind === 'dir') {
      if (owned(abs)) lines.push(`%dir %attr(${e.mode.toString(8).padStart(4, '0')},root,root) "${abs}"`);
      continue;
    }
    const attr = e.kind === 'link' ? '%attr(-,root,root)' : `%attr(${e.mode.toString(8).padStart(4, '0')},root,root)`;
    lines.push(`${s.configFiles.includes(abs) ? '%config(noreplace) ' : ''}${attr} "${abs}"`);
  }
  return lines;
}

export function buildRpm(s: RpmSpec): string {
  rmSync(s.workDir, { recursive: true, force: true });
  for (const d of ['BUILD', 'RPMS', 'SOURCES', 'SPECS', 'SRPMS', 'BUILDROOT']) mkdirSync(join(s.workDir, d), { recursive: true });
  const script = (name: string, body: string | undefined): string => (body ? `%${name}\n${body.trim()}\n` : '');
  const spec = [
    `Name: ${s.name}`,
    `Version: ${s.version}`,
    'Release: 1',
    `Summary: ${s.summary}`,
    `License: ${s.license}`,
    'BuildArch: x86_64',
    'AutoReqProv: no',
    ...s.requires.map((r) => `Requires: ${r}`),
    ...(s.recommends ?? []).map((r) => `Recommends: ${r}`),
    // the tree is staged final: no brp-strip, no debug package, no build-id links
    '%define __os_install_post %{nil}',
    '%define debug_package %{nil}',
    '%define _build_id_links none',
    `%define _binary_payload ${s.compression === 'release' ? 'w6T1.xzdio' : 'w1.gzdio'}`,
    '',
    '%description',
    s.description,
    '',
    '%install',
    `cp -a "${s.root}/." "%{buildroot}/"`,
    '',
    script('pre', s.scripts.pre),
    script('post', s.scripts.post),
    script('preun', s.scripts.preun),
    script('postun', s.scripts.postun),
    '%files',
    ...fileList(s),
    '',
  ].join('\n');
  const specFile = join(s.workDir, 'SPECS', `${s.name}.spec`);
  writeFileSync(specFile, spec);
  runTool('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${s.workDir}`, '--define', `_rpmdir ${s.outDir}`, '--define', '_build_name_fmt %%{NAME}-%%{VERSION}.%%{ARCH}.rpm', specFile]);
  const built = readdirSync(s.outDir).find((f) => f === `${s.name}-${s.version}.x86_64.rpm`);
  if (!built) throw new Error(`rpmbuild left no ${s.name}-${s.version}.x86_64.rpm in ${s.outDir}`);
  rmSync(s.workDir, { recursive: true, force: true });
  return join(s.outDir, built);
}
