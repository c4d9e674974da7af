// Helpers for laying out a package's file tree: copying with explicit modes, the Debian-style
// documentation every package carries (copyright, changelog), and walking the tree for file
// lists and sizes. Modes are set explicitly so that the build machine's umask never decides
// what an endpoint gets.
import { chmodSync, copyFileSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

export function put(root: string, path: string, content: string | Buffer, mode = 0o644): void {
  const p = join(root, path);
  mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
  writeFileSync(p, content);
  chmodSync(p, mode);
}

export function copyInto(root: string, path: string, src: string, mode = 0o644): void {
  const p = join(root, path);
  mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
  copyFileSync(src, p);
  chmodSync(p, mode);
}

export function link(root: string, path: string, target: string): void {
  const p = join(root, path);
  mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
  symlinkSync(target, p);
}

export function dir(root: string, path: string, mode = 0o755): void {
  const p = join(root, path);
  mkdirSync(p, { recursive: true });
  chmodSync(p, mode);
}

export interface TreeEntry {
  /** path from the root, no leading slash */
  path: string;
  kind: 'file' | 'dir' | 'link';
  mode: number;
  size: number;
}

/** Every entry under root, parents before children, sorted. */
export function walk(root: string, sub = ''): TreeEntry[] {
  const out: TreeEntry[] = [];
  for (const name of readdirSync(join(root, sub)).sort()) {
    const rel = sub ? `${sub}/${name}` : name;
    const st = lstatSync(join(root, rel));
    const kind = st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file';
    out.push({ path: rel, kind, mode: st.mode & 0o7777, size: st.size });
    if (kind === 'dir') out.push(...walk(root, rel));
  }
  return out;
}

export interface PackageDocs {
  name: string;
  version: string;
  maintainer: string;
  /** the README installed beside them */
  readme: string;
  /** the components the package carries, with their licences */
  thirdParty: string[];
}

/** A time for reproducible builds: SOURCE_DATE_EPOCH when set, else a fixed date. */
export function buildDate(): Date {
  const e = Number(process.env.SOURCE_DATE_EPOCH);
  return Number.isFinite(e) && e > 0 ? new Date(e * 1000) : new Date(Date.UTC(2026, 0, 1));
}

function rfc2822(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

/**
 * /usr/share/doc/<name>/{copyright,changelog.gz,README.md}. The packages are Debian-native
 * (no Debian revision in the version), hence changelog.gz, not changelog.Debian.gz.
 */
export function putDocs(root: string, d: PackageDocs): void {
  const doc = `usr/share/doc/${d.name}`;
  put(root, `${doc}/copyright`, [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    `Upstream-Name: ${d.name}`,
    '',
    'Files: *',
    `Copyright: ${buildDate().getUTCFullYear()} Meerkat authors`,
    'License: UNLICENSED',
    ' Proprietary: not licensed for redistribution.',
    '',
    ...d.thirdParty.flatMap((t) => [t, '']),
  ].join('\n').trimEnd() + '\n');
  const changelog = `${d.name} (${d.version}) unstable; urgency=medium\n\n  * Release ${d.version}.\n\n -- ${d.maintainer}  ${rfc2822(buildDate())}\n`;
  // gzip -9n: no name, no time stamp in the header (what lintian expects)
  put(root, `${doc}/changelog.gz`, gzipSync(changelog, { level: 9 }));
  put(root, `${doc}/README.md`, d.readme);
}
