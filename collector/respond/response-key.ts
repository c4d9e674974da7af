// The collector's RESPONSE key: an Ed25519 key pair (operator key file format) that signs the
// commands automatic responses issue. It is created on first use in <stateDir>/response-key/
// (op.key 0600, op.pub 0644) and is worth nothing until an operator authorises op.pub on an
// agent for named command kinds (`meerkat-agent response-key add op.pub --allow capture.peer`).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initOperatorKeys, loadOperatorSigningKey, OPERATOR_KEY_FILE, OPERATOR_PUB_FILE, type OperatorSigningKey } from '../../shared/commands/operator-keys.js';

const RESPONSE_KEY_NAME = 'collector-response';

export function responseKeyDir(stateDir: string): string {
  return join(stateDir, 'response-key');
}

function responsePubFile(dir: string): string {
  return join(dir, OPERATOR_PUB_FILE);
}

/** Loads the response key, creating it when absent. @throws KeyFileError */
export function loadOrCreateResponseKey(dir: string): { key: OperatorSigningKey; created: boolean; pubFile: string } {
  let created = false;
  if (!existsSync(join(dir, OPERATOR_KEY_FILE))) {
    initOperatorKeys(dir, { name: RESPONSE_KEY_NAME });
    created = true;
  }
  return { key: loadOperatorSigningKey(join(dir, OPERATOR_KEY_FILE)), created, pubFile: responsePubFile(dir) };
}
