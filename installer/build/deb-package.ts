// Builds a .deb from a staged file tree with dpkg-deb: the control file, maintainer scripts
// and conffiles are written into DEBIAN/, files are owned by root in the archive
// (--root-owner-group), and the data is compressed as asked (xz for releases; the tests
// take gzip -1 to stay within their time budget, the contents are the same).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTool } from './tool-run.js';
import { walk } from './staging.js';

export type Compression = 'release' | 'fast';

export interface DebSpec {
  name: string;
  version: string;
  arch: 'amd64' | 'all';
  maintainer: string;
  section: string;
  depends: string[];
  recommends?: string[];
  homepage?: string;
  summary: string;
  /** the long description, one paragraph a string */
  description: string[];
  /** the staged tree (DEBIAN/ is added to it) */
  root: string;
  /** maintainer scripts: name -> shell text */
  scripts: Partial<Record<'preinst' | 'postinst' | 'prerm' | 'postrm', string>>;
  /** absolute paths of configuration files dpkg must not overwrite when changed locally */
  conffiles: string[];
  outDir: string;
  compression: Compression;
}

/** the long description in control-file form: a leading space per line, "." for a blank line */
function longDescription(paragraphs: readonly string[]): string {
  return paragraphs.map((p) => wrap(p, 78).map((l) => ` ${l}`).join('\n')).join('\n .\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/** Installed-Size in KiB, as dpkg-gencontrol counts it (each file rounded up, 1 per dir/link). */
function installedSizeKiB(root: string): number {
  return walk(root).reduce((s, e) => s + (e.kind === 'file' ? Math.ceil(e.size / 1024) : 1), 0);
}

export function buildDeb(s: DebSpec): string {
  const control = [
    `Package: ${s.name}`,
    `Version: ${s.version}`,
    `Architecture: ${s.arch}`,
    `Maintainer: ${s.maintainer}`,
    `Installed-Size: ${installedSizeKiB(s.root)}`,
    s.depends.length ? `Depends: ${s.depends.join(', ')}` : '',
    s.recommends?.length ? `Recommends: ${s.recommends.join(', ')}` : '',
    `Section: ${s.section}`,
    'Priority: optional',
    s.homepage ? `Homepage: ${s.homepage}` : '',
    `Description: ${s.summary}`,
    longDescription(s.description),
  ].filter(Boolean).join('\n') + '\n';
  const debian = join(s.root, 'DEBIAN');
  mkdirSync(debian, { recursive: true });
  chmodSync(debian, 0o755);
  writeFileSync(join(debian, 'control'), control);
  chmodSync(join(debian, 'control'), 0o644);
  if (s.conffiles.length) {
    writeFileSync(join(debian, 'conffiles'), s.conffiles.join('\n') + '\n');
    chmodSync(join(debian, 'conffiles'), 0o644);
  }
  for (const [name, text] of Object.entries(s.scripts)) {
    writeFileSync(join(debian, name), text);
    chmodSync(join(debian, name), 0o755);
  }
  const out = join(s.outDir, `${s.name}_${s.version}_${s.arch}.deb`);
  mkdirSync(s.outDir, { recursive: true });
  const z = s.compression === 'release' ? ['-Zxz', '-z6'] : ['-Zgzip', '-z1'];
  // one compressor thread: the build shares its machine (2 cores) with other work
  runTool('dpkg-deb', ['--root-owner-group', ...z, '--threads-max=1', '--build', s.root, out]);
  return out;
}
