// Response keys on the agent: Ed25519 public keys of a COLLECTOR (its automatic-response key)
// that an operator has explicitly authorised on this host for a restricted set of command
// kinds. Pinned locally like operator keys, never over the network:
//   <stateDir>/response-keys/<keyId>.pub          copy of the collector's response.pub
//   <stateDir>/response-keys/<keyId>.scope.json   {"v":1,"kinds":["capture.peer", ...]}
// A command signed by a response key is executed only when its kind is in that key's scope
// (agent/watchlist/response-command-router.ts); everything else is refused and answered.
// The folder is kept like the operator keys' (agent/control/key-folder.ts).
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { loadOperatorPublicKey } from '../../shared/commands/operator-keys.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import type { CommandKind } from '../../shared/commands/command-schema.js';
import { assertNotWritableByOthers, forEachPinnedKey, KEY_ID_RE, openKeyFolder, writePinnedFile } from '../control/key-folder.js';

const RESPONSE_KEYS_DIR = 'response-keys';

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

function responseKeysDir(stateDir: string): string {
  return join(stateDir, RESPONSE_KEYS_DIR);
}

const TRUSTING = 'response keys';

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
  openKeyFolder(dir, TRUSTING);
  const file = join(dir, `${k.keyId}.pub`);
  const scopeFile = join(dir, `${k.keyId}.scope.json`);
  writePinnedFile(scopeFile, Buffer.from(JSON.stringify({ v: 1, kinds: scope }) + '\n'));
  writePinnedFile(file, readFileSync(pubFile));
  return { keyId: k.keyId, name: k.name, kinds: scope, file };
}

export function unpinResponseKey(stateDir: string, keyId: string): boolean {
  if (!KEY_ID_RE.test(keyId)) return false;
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
  forEachPinnedKey(dir, TRUSTING, out.problems, (k, file) => {
    const scopeFile = file.slice(0, -4) + '.scope.json';
    if (!existsSync(scopeFile)) throw new KeyFileError(scopeFile, 'missing: a response key without a scope authorises nothing');
    assertNotWritableByOthers(scopeFile, TRUSTING);
    let doc: { v?: unknown; kinds?: unknown };
    try {
      doc = JSON.parse(readFileSync(scopeFile, 'utf8')) as { v?: unknown; kinds?: unknown };
    } catch (e) {
      throw new KeyFileError(scopeFile, `not JSON (${(e as Error).message})`);
    }
    if (doc.v !== 1 || !Array.isArray(doc.kinds) || !doc.kinds.every((x) => typeof x === 'string')) throw new KeyFileError(scopeFile, 'expected {"v":1,"kinds":[...]}');
    out.keys.set(k.keyId, { keyId: k.keyId, name: k.name, key: k.key, kinds: new Set(checkKinds(doc.kinds as string[], scopeFile)) });
  });
  return out;
}
