// Response keys on the agent: Ed25519 public keys of a COLLECTOR (its automatic-response key)
// that an operator has explicitly authorised on this host for a restricted set of command
// kinds. Pinned locally like operator keys, never over the network:
//   <stateDir>/response-keys/<keyId>.pub          copy of the collector's response.pub
//   <stateDir>/response-keys/<keyId>.scope.json   {"v":1,"kinds":["capture.peer", ...]}
// A command signed by a response key is executed only when its kind is in that key's scope
// (agent/watchlist/response-command-router.ts); everything else is refused and answered.
// (Belongs with agent/control/pinned-keys.ts; kept here because of folder ownership.)
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { KeyFileError, loadOperatorPublicKey } from '../../shared/commands/operator-keys.js';
import type { CommandKind } from '../../shared/commands/command-schema.js';
import { writeFileAtomic } from '../spool/atomic-file.js';

export const RESPONSE_KEYS_DIR = 'response-keys';

/** Kinds an automatic response may ever be authorised for (no inventory, no stop/start, no release). */
export const RESPONSE_KINDS: readonly CommandKind[] = [
  'capture.peer', 'capture.snaplen', 'capture.retro', 'interdiction.isolate', 'interdiction.block', 'interdiction.degrade',
];

export interface ResponseKey {
  keyId: string;
  name: string;
  key: KeyObject;
  kinds: ReadonlySet<CommandKind>;
}

export interface ResponseKeySet {
  keys: Map<string, ResponseKey>;
  problems: string[];
}

export function responseKeysDir(stateDir: string): string {
  return join(stateDir, RESPONSE_KEYS_DIR);
}

function notWritableByOthers(path: string): void {
  if (process.platform === 'win32') return;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o022) !== 0) throw new KeyFileError(path, `is writable by group/others (mode ${mode.toString(8).padStart(4, '0')}); refusing to trust response keys from it (fix: chmod go-w ${path})`);
}

function checkKinds(kinds: readonly string[], where: string): CommandKind[] {
  if (kinds.length === 0) throw new KeyFileError(where, 'authorises no command kind (expected at least one of ' + RESPONSE_KINDS.join(', ') + ')');
  for (const k of kinds) {
    if (!(RESPONSE_KINDS as readonly string[]).includes(k)) throw new KeyFileError(where, `names command kind ${JSON.stringify(k)}; a response key may only be authorised for ${RESPONSE_KINDS.join(', ')}`);
  }
  return [...new Set(kinds)] as CommandKind[];
}

/** Authorises a collector response key for `kinds` (replaces an earlier scope of the same key). @throws KeyFileError */
export function pinResponseKey(stateDir: string, pubFile: string, kinds: readonly string[]): { keyId: string; name: string; kinds: CommandKind[]; file: string } {
  const k = loadOperatorPublicKey(pubFile);
  const scope = checkKinds(kinds, pubFile);
  const dir = responseKeysDir(stateDir);
  if (mkdirSync(dir, { recursive: true, mode: 0o755 }) !== undefined) chmodSync(dir, 0o755);
  notWritableByOthers(dir);
  const file = join(dir, `${k.keyId}.pub`);
  const scopeFile = join(dir, `${k.keyId}.scope.json`);
  writeFileAtomic(scopeFile, `${scopeFile}.tmp-${process.pid}`, Buffer.from(JSON.stringify({ v: 1, kinds: scope }) + '\n'), 0o644);
  writeFileAtomic(file, `${file}.tmp-${process.pid}`, readFileSync(pubFile), 0o644);
  chmodSync(file, 0o644);
  chmodSync(scopeFile, 0o644);
  return { keyId: k.keyId, name: k.name, kinds: scope, file };
}

export function unpinResponseKey(stateDir: string, keyId: string): boolean {
  if (!/^[0-9a-f]{16}$/.test(keyId)) return false;
  const dir = responseKeysDir(stateDir);
  let removed = false;
  for (const f of [`${keyId}.pub`, `${keyId}.scope.json`]) {
    if (existsSync(join(dir, f))) { unlinkSync(join(dir, f)); removed = true; }
  }
  return removed;
}

/** Reads the authorised response keys (a key without a valid scope file is not trusted). */
export function loadResponseKeys(stateDir: string): ResponseKeySet {
  const dir = responseKeysDir(stateDir);
  const out: ResponseKeySet = { keys: new Map(), problems: [] };
  if (!existsSync(dir)) return out;
  try {
    notWritableByOthers(dir);
  } catch (e) {
    out.problems.push((e as Error).message);
    return out;
  }
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.pub')) continue;
    const file = join(dir, name);
    const scopeFile = file.slice(0, -4) + '.scope.json';
    try {
      const k = loadOperatorPublicKey(file);
      if (`${k.keyId}.pub` !== name) throw new KeyFileError(file, `holds key ${k.keyId}, but its name says ${name.slice(0, -4)}`);
      if (!existsSync(scopeFile)) throw new KeyFileError(scopeFile, 'missing: a response key without a scope authorises nothing');
      notWritableByOthers(scopeFile);
      const doc = JSON.parse(readFileSync(scopeFile, 'utf8')) as { v?: unknown; kinds?: unknown };
      if (doc.v !== 1 || !Array.isArray(doc.kinds) || !doc.kinds.every((x) => typeof x === 'string')) throw new KeyFileError(scopeFile, 'expected {"v":1,"kinds":[...]}');
      out.keys.set(k.keyId, { keyId: k.keyId, name: k.name, key: k.key, kinds: new Set(checkKinds(doc.kinds as string[], scopeFile)) });
    } catch (e) {
      out.problems.push(e instanceof SyntaxError ? `${scopeFile}: not JSON (${e.message})` : (e as Error).message);
    }
  }
  return out;
}
