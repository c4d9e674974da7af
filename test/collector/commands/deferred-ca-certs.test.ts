// deferred-ca-certs: which configurations need the extra CA certificates, and when an import
// starts again with them (the launcher's side and a whole run: test/installer/collector-bundle.test.ts).
import assert from 'node:assert/strict';
import { DEFERRED_CA_ENV, hasHttpsWebhook, rerunWithExtraCaCerts } from '../../../collector/commands/deferred-ca-certs.js';

describe('deferred-ca-certs', () => {
  it('finds an https webhook among the alert outputs, nothing else', () => {
    assert.equal(hasHttpsWebhook({ alerts: { outputs: [{ type: 'jsonl', path: 'a' }, { type: 'webhook', url: 'https://hooks.example/m' }] } }), true);
    assert.equal(hasHttpsWebhook({ alerts: { outputs: [{ type: 'webhook', url: ' HTTPS://hooks.example/m' }] } }), true);
    assert.equal(hasHttpsWebhook({ alerts: { outputs: [{ type: 'webhook', url: 'http://hooks.example/m' }] } }), false);
    assert.equal(hasHttpsWebhook({ alerts: { outputs: [{ type: 'syslog', url: 'https://x' }] } }), false);
    for (const c of [undefined, {}, { alerts: null }, { alerts: 'x' }, { alerts: { outputs: {} } }, { alerts: { outputs: [null, 3, { type: 'webhook', url: 5 }] } }]) {
      assert.equal(hasHttpsWebhook(c as Record<string, unknown> | undefined), false, JSON.stringify(c));
    }
  });

  it('goes on in this process unless the certificates were set aside and are needed', () => {
    assert.equal(rerunWithExtraCaCerts(false, { [DEFERRED_CA_ENV]: '/etc/ca.pem' }), undefined);
    assert.equal(rerunWithExtraCaCerts(true, {}), undefined);
    assert.equal(rerunWithExtraCaCerts(true, { [DEFERRED_CA_ENV]: '' }), undefined);
    // already restored (a process the first one started): never again
    assert.equal(rerunWithExtraCaCerts(true, { [DEFERRED_CA_ENV]: '/etc/ca.pem', NODE_EXTRA_CA_CERTS: '/etc/ca.pem' }), undefined);
  });
});
