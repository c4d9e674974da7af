// The persisted interdiction policy, so an interdiction survives agent restarts and reboots.
// JSON, written atomically (temp file 0600, fsync, rename, fsync of the folder): a crash leaves
// either the old or the new state, never a torn file.
// Callback fs, promisified: node:fs/promises would load readline and fs.watch machinery into
// every agent at start (~0.4 MB resident) for a file written a few times a day.
import { close, fchmod, fsync, mkdir as mkdirCb, open as openCb, readFile as readFileCb, rename as renameCb, rm as rmCb, writeFile as writeFileCb } from 'node:fs';
import { promisify } from 'node:util';
import { dirname, basename, join } from 'node:path';
import { InputError, MeerkatError } from '../../shared/errors.js';
import type { InterdictionPolicy } from './policy.js';
import { validatePolicy } from './policy-json.js';
import type { BackendName } from './firewall-backend.js';

const open = promisify(openCb);
const readFile = promisify(readFileCb);
const writeFile = promisify(writeFileCb);
const fchmodFd = promisify(fchmod);
const closeFd = promisify(close);
const fsyncFd = promisify(fsync);
const mkdir = promisify(mkdirCb);
const rename = promisify(renameCb);
const rm = promisify(rmCb);

export const STATE_VERSION = 1;

export interface InterdictionState {
  version: typeof STATE_VERSION;
  /** the backend that installed the rules (to clean up after a backend change) */
  backend: BackendName;
  /** ms since the epoch */
  updatedAt: number;
  policy: InterdictionPolicy;
}

export class InterdictionStateError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_INTERDICTION_STATE';
  constructor(path: string, what: string) {
    super(`interdiction state file ${path}: ${what}`);
    this.name = 'InterdictionStateError';
  }
}

/** The state, or undefined when the file does not exist. @throws InterdictionStateError when unreadable */
export async function readStateFile(path: string): Promise<InterdictionState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InterdictionStateError(path, (e as Error).message);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InterdictionStateError(path, 'not valid JSON');
  }
  const o = doc as Partial<InterdictionState> | null;
  if (typeof o !== 'object' || o === null || o.version !== STATE_VERSION) {
    throw new InterdictionStateError(path, `expected an object with version ${STATE_VERSION}`);
  }
  if (o.backend !== 'nft' && o.backend !== 'iptables' && o.backend !== 'windows') {
    throw new InterdictionStateError(path, `unknown backend ${JSON.stringify(o.backend)}`);
  }
  try {
    return { version: STATE_VERSION, backend: o.backend, updatedAt: Number(o.updatedAt) || 0, policy: validatePolicy(o.policy) };
  } catch (e) {
    if (e instanceof InputError) throw new InterdictionStateError(path, e.message);
    throw e;
  }
}

export async function writeStateFile(path: string, state: InterdictionState): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fd = await open(tmp, 'w', 0o600);
  try {
    await fchmodFd(fd, 0o600); // the umask may have narrowed it; never widened
    await writeFile(fd, JSON.stringify(state, null, 2) + '\n', 'utf8');
    await fsyncFd(fd);
  } catch (e) {
    await closeFd(fd);
    await rm(tmp, { force: true });
    throw e;
  }
  await closeFd(fd);
  await rename(tmp, path);
  const d = await open(dir, 'r');
  try {
    await fsyncFd(d);
  } catch { /* some file systems cannot fsync a folder; the rename is still atomic */ } finally {
    await closeFd(d);
  }
}
