// Applies Meerkat's patch to the `cap` libpcap binding and rebuilds it (patches/README.md says
// what the patch changes and why). Idempotent: checks the source and the built addon for the
// patch's marker, so it is cheap to run after every install (package.json postinstall, and
// scripts/setup.sh for trees installed before the patch existed).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PATCHED_VERSION = '0.2.1';
const patchFile = join(root, 'patches', `cap-${PATCHED_VERSION}.patch`);
// the patch's revision: in the patched source, and exported by the built addon (meerkatPatch)
const REVISION = 'meerkat-cap-patch-6';

const say = (msg) => console.log(`[patch-cap] ${msg}`);
const fail = (msg) => {
  console.error(`[patch-cap] ${msg}`);
  process.exit(1);
};

let capDir;
try {
  capDir = dirname(createRequire(join(root, 'package.json')).resolve('cap/package.json'));
} catch {
  fail('the cap package is not installed (run npm ci first)');
}
const version = JSON.parse(readFileSync(join(capDir, 'package.json'), 'utf8')).version;
if (version !== PATCHED_VERSION) fail(`cap ${version} is installed but the patch is for ${PATCHED_VERSION}: update patches/`);

const source = join(capDir, 'src', 'binding.cc');
const text = readFileSync(source, 'utf8');
if (!text.includes(REVISION) && text.includes('MEERKAT_PATCH')) {
  fail(`${source} carries an older revision of the patch: reinstall the package (rm -rf node_modules/cap && npm ci)`);
}
if (!text.includes(REVISION)) {
  try {
    execFileSync('patch', ['-p1', '--forward', '--batch', '--no-backup-if-mismatch', '-d', capDir, '-i', patchFile], { stdio: 'pipe' });
  } catch (e) {
    fail(`patch failed: ${(e.stdout ?? '').toString()}${(e.stderr ?? e.message).toString()}`);
  }
  say(`patched ${source}`);
}

const addon = join(capDir, 'build', 'Release', 'cap.node');
if (!existsSync(addon) || !readFileSync(addon).includes(REVISION)) {
  say('rebuilding the cap addon');
  // npm rebuild runs node-gyp with npm's own settings (nodedir, python), as the install did
  try {
    execFileSync('npm', ['rebuild', 'cap', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root, stdio: 'pipe' });
  } catch (e) {
    fail(`rebuilding cap failed: ${(e.stderr ?? e.message).toString()}`);
  }
  if (!readFileSync(addon).includes(REVISION)) fail('the rebuilt cap addon does not carry the patch');
  say('cap addon rebuilt');
}
