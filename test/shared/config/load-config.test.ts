// Config errors name the mistake: a section given as a string (`"store": "meerkat.db"`) is
// reported as such - not as `Unrecognized keys: "0", ..., "14"` -, an unknown key with the known
// ones ("did you mean"). The collector's whole file: test/collector/collector-config.test.ts.
import assert from 'node:assert/strict';
import { z } from 'zod';
import * as zm from 'zod/mini';
import { ConfigError, configSection, validateConfig } from '../../../shared/config/load-config.js';

describe('config sections', () => {
  it('configSection returns a copy of the object, {} when absent, and names any other value', () => {
    const cfg = { control: { listen: 'off' }, a: 'x', b: [1], c: 7, d: null };
    const sec = configSection(cfg, 'control', '{}');
    assert.deepEqual(sec, { listen: 'off' });
    sec.listen = 'changed';
    assert.equal(cfg.control.listen, 'off', 'a copy');
    assert.deepEqual(configSection(cfg, 'missing', '{}'), {});
    const err = (key: string): string => {
      try {
        configSection(cfg, key, '{"listen": "127.0.0.1:9470"}');
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.message;
      }
      return 'no error';
    };
    assert.equal(err('a'), 'config key "a" must be an object such as {"listen": "127.0.0.1:9470"}, got the string "x"');
    assert.match(err('b'), /got an array$/);
    assert.match(err('c'), /got a number 7$/);
    assert.match(err('d'), /got null$/);
  });

  it('an unknown key is named with the closest known one and the keys allowed there (classic and mini zod)', () => {
    const mini = zm.strictObject({ capture: zm.strictObject({ interfaces: zm.optional(zm.string()), bpf: zm.optional(zm.string()) }) });
    const e1 = (() => { try { validateConfig(mini, { capture: { interfaes: 'any' } }, 'agent.json'); } catch (e) { return e as ConfigError; } return null; })();
    assert.ok(e1 instanceof ConfigError);
    assert.match(e1.message, /agent\.json: invalid configuration\n  capture\.interfaes: unknown key \(did you mean "interfaces"\?\); known keys here: interfaces, bpf/);
    const classic = z.object({ limits: z.object({ heartbeatSec: z.number() }).partial().strict() }).strict();
    assert.throws(() => validateConfig(classic, { limits: { hartbeatSec: 2 } }, 'c.json'), /limits\.hartbeatSec: unknown key \(did you mean "heartbeatSec"\?\)/);
    assert.throws(() => validateConfig(classic, { colour: 1 }, 'c.json'), (e: unknown) => e instanceof ConfigError && /colour: unknown key; known keys here: limits/.test(e.message) && !/did you mean/.test(e.message));
  });
});
