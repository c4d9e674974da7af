// Sealed box to the network owner (tweetnacl): the agent encrypts with a fresh ephemeral
// X25519 key pair to the owner's box.pub and throws the ephemeral secret away, so only
// box.key opens it; neither the agent afterwards nor the collector can. Used for the sensitive
// half of the machine inventory (host name, users, real addresses, MACs). Pure apart from
// randomness.
//
// Opening it lives in sealed-box-open.ts (no Node APIs: the web console opens it too).
//
// Wire form: {"type":"meerkat-sealed","v":1,"to":<owner key id>,"epk":b64,"nonce":b64,"ct":b64}
// with ct = nacl.box(plaintext, nonce, ownerPublicKey, ephemeralSecretKey).
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { BOX_KEY_ID_LABEL, openSealedBox, type OwnerBoxKeys, type SealedBox } from './sealed-box-open.js';

export { SealedBoxError, type SealedBox } from './sealed-box-open.js';

/** Largest plaintext we seal (the inventory is a few KB). */
const MAX_SEALED_PLAINTEXT = 48 * 1024;

function boxKeyId(publicKey: Uint8Array): string {
  return createHash('sha256').update(BOX_KEY_ID_LABEL).update(publicKey).digest('hex').slice(0, 16);
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

export function sealToOwner(plaintext: Uint8Array, ownerPublicKey: Uint8Array): SealedBox {
  if (ownerPublicKey.length !== nacl.box.publicKeyLength) throw new RangeError(`owner box public key must be ${nacl.box.publicKeyLength} bytes`);
  if (plaintext.length > MAX_SEALED_PLAINTEXT) throw new RangeError(`sealed plaintext of ${plaintext.length} bytes exceeds ${MAX_SEALED_PLAINTEXT}`);
  const eph = nacl.box.keyPair();
  const nonce = nacl.randomBytes(nacl.box.nonceLength);
  const ct = nacl.box(plaintext, nonce, ownerPublicKey, eph.secretKey);
  eph.secretKey.fill(0);
  return { type: 'meerkat-sealed', v: 1, to: boxKeyId(ownerPublicKey), epk: b64(eph.publicKey), nonce: b64(nonce), ct: b64(ct) };
}

/** Opens a sealed box with the owner's key pair. @throws SealedBoxError */
export function openSealed(x: unknown, owner: OwnerBoxKeys): Uint8Array {
  return openSealedBox(x, owner, boxKeyId(owner.boxPublicKey));
}
