// The web console's opening of name tokens (WebCrypto) against the agent's node implementation:
// every token the agent seals opens to the same part and name, tokens of another key or
// altered ones are refused as the node opener refuses them, and keys derive alike.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { nameKeys, openNamePart, sealNamePart } from '../../../shared/anonymize/name-token.js';
import { openName, sealName, DEFAULT_INTERNAL_SUFFIXES } from '../../../shared/anonymize/name-pseudonymizer.js';
import { openNamePartWeb, openNameWeb, webNameKeys } from '../../../shared/anonymize/name-token-web.js';

describe('name-token-web', () => {
  it('opens every part the agent seals, with the agent\'s own answer', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom<'h' | 't'>('h', 't'), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 63 }),
      async (key, role, context, part) => {
        const node = nameKeys(key);
        const web = await webNameKeys(key);
        const token = sealNamePart(node, role, context, part);
        assert.equal(await openNamePartWeb(web, role, context, token), part);
        assert.equal(await openNamePartWeb(web, role === 'h' ? 't' : 'h', context, token), openNamePart(node, role === 'h' ? 't' : 'h', context, token));
      }), { numRuns: 150 });
  });

  it('opens whole names the name policy seals, and refuses another key\'s and altered tokens as the node opener does', async () => {
    const key = randomBytes(32);
    const other = randomBytes(32);
    const web = await webNameKeys(key);
    const webOther = await webNameKeys(other);
    const node = nameKeys(key);
    await fc.assert(fc.asyncProperty(
      fc.array(fc.stringMatching(/^[a-z0-9-]{1,20}$/), { minLength: 1, maxLength: 5 }), fc.constantFrom(...DEFAULT_INTERNAL_SUFFIXES, 'example.com', 'co.uk'), fc.nat(60),
      async (labels, suffix, flip) => {
        const name = `${labels.join('.')}.${suffix}`;
        const sealed = sealName(node, name, DEFAULT_INTERNAL_SUFFIXES);
        assert.equal(await openNameWeb(web, sealed), openName(node, sealed));
        assert.equal(await openNameWeb(web, sealed), name);
        assert.equal(await openNameWeb(webOther, sealed), null);
        // one character of the token body changed
        const i = 4 + (flip % (sealed.length - 4));
        const c = sealed[i] === 'a' ? 'b' : 'a';
        const altered = sealed.slice(0, i) + c + sealed.slice(i + 1);
        assert.equal(await openNameWeb(web, altered), openName(node, altered));
      }), { numRuns: 150 });
  });

  it('leaves text that is not a token alone', async () => {
    const web = await webNameKeys(randomBytes(32));
    for (const t of ['www.example.com', 'mk--', 'mk--!!', 'a.mk--abc', 'mk--a.mk--b.mk--c', '']) assert.equal(await openNameWeb(web, t), null, t);
  });
});
