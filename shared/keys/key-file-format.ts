// Text format of Meerkat key files (pure: text in, bytes out, no I/O).
//
// One small JSON object per file, with a type marker and a version so a wrong or damaged
// file is recognised and named instead of being used as key material:
//   {"type":"meerkat-anon-key","version":1,"keyId":"<16 hex>","key":"<base64>"}
// Every kind of owner key file is one entry in KEY_FILE_KINDS; the operator's signing keys
// use the same format with kinds of their own (shared/commands/operator-keys.ts).
import { KeyFileError } from './key-file-error.js';

export interface KeyFileKind {
  /** the "type" marker */
  type: string;
  /** what the file is, for messages: "FILE is not a Meerkat <description>" */
  description: string;
  /** base64 fields and their byte lengths */
  fields: Record<string, number>;
  /** secret material: must not be readable by group/others */
  secret: boolean;
}

const KEY_FILE_VERSION = 1;

export const KEY_FILE_KINDS = {
  anonKey: { type: 'meerkat-anon-key', description: 'anonymization key', fields: { key: 32 }, secret: true },
  boxSecret: { type: 'meerkat-box-secret-key', description: 'owner box secret key', fields: { secretKey: 32, publicKey: 32 }, secret: true },
  boxPublic: { type: 'meerkat-box-public-key', description: 'owner box public key', fields: { publicKey: 32 }, secret: false },
} as const satisfies Record<string, KeyFileKind>;

/** The operator's Ed25519 signing key files (shared/commands/operator-keys.ts reads and writes them; the web console reads op.key in the browser). */
export const OPERATOR_KEY_KINDS = {
  signSecret: { type: 'meerkat-operator-sign-key', description: 'operator signing key (Ed25519)', fields: { seed: 32, publicKey: 32 }, secret: true },
  signPublic: { type: 'meerkat-operator-sign-pub', description: 'operator public signing key (Ed25519)', fields: { publicKey: 32 }, secret: false },
} as const satisfies Record<string, KeyFileKind>;

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

// atob/btoa rather than Buffer: the web console parses owner key files in the browser
function toBase64(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

function fromBase64(t: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Serialises a key file; `extra` holds plain informational fields (keyId, created). */
export function encodeKeyFile(kind: KeyFileKind, material: Record<string, Uint8Array>, extra: Record<string, string> = {}): string {
  const obj: Record<string, string | number> = { type: kind.type, version: KEY_FILE_VERSION, ...extra };
  for (const [name, len] of Object.entries(kind.fields)) {
    const v = material[name];
    if (!v || v.length !== len) throw new RangeError(`${kind.type}: field ${name} must be ${len} bytes`);
    obj[name] = toBase64(v);
  }
  return JSON.stringify(obj, null, 2) + '\n';
}

/**
 * Parses key file text of the expected kind; returns its byte fields.
 * @throws KeyFileError naming `file` and what was wrong
 */
export function decodeKeyFile(file: string, text: string, kind: KeyFileKind): Record<string, Uint8Array> {
  const notIt = `is not a Meerkat ${kind.description}`;
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw new KeyFileError(file, `${notIt} (not JSON)`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new KeyFileError(file, `${notIt} (not a JSON object)`);
  const o = obj as Record<string, unknown>;
  if (o.type !== kind.type) {
    const seen = typeof o.type === 'string' ? ` (its type is ${JSON.stringify(o.type.slice(0, 64))}, expected ${JSON.stringify(kind.type)})` : ` (no "type": ${JSON.stringify(kind.type)})`;
    throw new KeyFileError(file, notIt + seen);
  }
  if (o.version !== KEY_FILE_VERSION) {
    throw new KeyFileError(file, `${kind.description} file version ${JSON.stringify(o.version)} is not supported (expected ${KEY_FILE_VERSION})`);
  }
  const out: Record<string, Uint8Array> = {};
  for (const [name, len] of Object.entries(kind.fields)) {
    const v = o[name];
    if (typeof v !== 'string' || !B64.test(v)) throw new KeyFileError(file, `${kind.description}: field "${name}" must be base64 text`);
    const bytes = fromBase64(v);
    if (bytes === null) throw new KeyFileError(file, `${kind.description}: field "${name}" must be base64 text`);
    if (bytes.length !== len) throw new KeyFileError(file, `${kind.description}: field "${name}" must hold ${len} bytes, it holds ${bytes.length}`);
    out[name] = bytes;
  }
  return out;
}
