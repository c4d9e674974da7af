// The text a command signature covers: a context line, then the canonical JSON of the envelope
// without its signature. One definition for every signer (node:crypto in the CLI, tweetnacl in
// the web console) and the agent's verifier. Pure.
import { canonicalJson } from './canonical-json.js';

/** Domain separation: these bytes can never be mistaken for another Meerkat signature. */
export const SIGNING_CONTEXT = 'meerkat command v1\n';

export function signedText(env: object): string {
  const { sig: _sig, ...rest } = env as Record<string, unknown>;
  return SIGNING_CONTEXT + canonicalJson(rest);
}
