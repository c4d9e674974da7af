// One base for every project error: each error class derives from MeerkatError and declares
// its own stable code, every code is documented in docs/errors.md (and every documented code
// exists), and the CLIs print the code and exit 2 for input errors, 1 for the rest.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { errorCode, InputError, MeerkatError } from '../../shared/errors.js';
import { UsageError } from '../../shared/cli/run-cli.js';
import { ConfigError } from '../../shared/config/load-config.js';
import { DumpFormatError } from '../../shared/dump/dump-error.js';
import { repoRoot } from '../../shared/util/repo-paths.js';
import { runCommand } from '../helpers/cli-run.js';

const LAYERS = ['agent', 'collector', 'console', 'shared', 'certs', 'installer', 'tools'];
const BUILT_IN_ERRORS = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'EvalError', 'ReferenceError', 'URIError', 'AggregateError']);

interface ErrorClass { file: string; name: string; base: string; code: string | undefined; abstract: boolean }

function sources(dir: string): string[] {
  return readdirSync(join(repoRoot(), dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

/** Every class of the project that is an error by name or by base, with the code it declares. */
function errorClasses(): ErrorClass[] {
  const out: ErrorClass[] = [];
  for (const file of LAYERS.flatMap(sources)) {
    const text = readFileSync(join(repoRoot(), file), 'utf8');
    for (const m of text.matchAll(/^\s*(?:export )?(abstract )?class (\w+) extends (\w+)/gm)) {
      const [, abstract, name, base] = m;
      if (!name!.endsWith('Error') && !base!.endsWith('Error')) continue;
      // the code is the first member of the class body
      const head = text.slice(m.index + m[0].length).split('\n').slice(0, 3).join('\n');
      const code = /^[^{]*\{\s*(?:override )?readonly code(?:: string)? = '(MEERKAT_ERR_[A-Z0-9_]+)';/.exec(head)?.[1];
      out.push({ file, name: name!, base: base!, code, abstract: abstract !== undefined });
    }
  }
  return out;
}

/** Code -> class name, from the table rows of docs/errors.md. */
function documentedCodes(): Map<string, string> {
  const doc = readFileSync(join(repoRoot(), 'docs', 'errors.md'), 'utf8');
  return new Map([...doc.matchAll(/^\| `(MEERKAT_ERR_[A-Z0-9_]+)` \| `?(\w+)`? \|/gm)].map((m) => [m[1]!, m[2]!]));
}

describe('errors', () => {
  const classes = errorClasses();

  it('every error class derives from MeerkatError, not from a built-in error', () => {
    assert.ok(classes.length >= 40, `found only ${classes.length} error classes`);
    const direct = classes.filter((c) => BUILT_IN_ERRORS.has(c.base) && !(c.name === 'MeerkatError' && c.file === 'shared/errors.ts'));
    assert.deepEqual(direct.map((c) => `${c.file}: ${c.name} extends ${c.base}`), []);
  });

  it('every concrete error class declares its own code, and no two classes share one', () => {
    const concrete = classes.filter((c) => !c.abstract);
    assert.deepEqual(concrete.filter((c) => c.code === undefined).map((c) => `${c.file}: ${c.name}`), []);
    const byCode = new Map<string, string[]>();
    for (const c of concrete) byCode.set(c.code!, [...(byCode.get(c.code!) ?? []), `${c.file}: ${c.name}`]);
    assert.deepEqual([...byCode].filter(([, names]) => names.length > 1), []);
  });

  it('docs/errors.md lists every code with its class, and nothing else', () => {
    const documented = documentedCodes();
    const inCode = new Map(classes.filter((c) => c.code !== undefined).map((c) => [c.code!, c.name]));
    inCode.set('MEERKAT_ERR_UNEXPECTED', 'Error');
    assert.deepEqual([...documented].sort(), [...inCode].sort());
  });

  it('errorCode gives a MeerkatError its code and anything else MEERKAT_ERR_UNEXPECTED', () => {
    assert.equal(errorCode(new DumpFormatError('x')), 'MEERKAT_ERR_DUMP_FORMAT');
    assert.equal(errorCode(new UsageError('x')), 'MEERKAT_ERR_USAGE');
    assert.equal(errorCode(new Error('x')), 'MEERKAT_ERR_UNEXPECTED');
    assert.equal(errorCode('a string'), 'MEERKAT_ERR_UNEXPECTED');
    assert.ok(new ConfigError('x') instanceof InputError);
    assert.ok(new DumpFormatError('x') instanceof MeerkatError && !(new DumpFormatError('x') instanceof InputError));
  });

  describe('CLI error output', () => {
    const failing = (err: () => Error) => (p: Command): void => {
      p.command('fail').option('--json').action(() => { throw err(); });
    };

    it('an input error exits 2 and prints its code', async () => {
      const r = await runCommand(failing(() => new UsageError('--limit expects a whole number')), ['fail']);
      assert.equal(r.code, 2);
      assert.equal(r.err, 'error: --limit expects a whole number [MEERKAT_ERR_USAGE]\n');
      const cfg = await runCommand(failing(() => new ConfigError('collector.json: port: expected a number')), ['fail']);
      assert.equal(cfg.code, 2);
      assert.match(cfg.err, /\[MEERKAT_ERR_CONFIG\]\n$/);
    });

    it('any other error exits 1; --json gives error, kind and code', async () => {
      const r = await runCommand(failing(() => new DumpFormatError('bad magic')), ['fail', '--json']);
      assert.equal(r.code, 1);
      assert.deepEqual(JSON.parse(r.err), { error: 'bad magic', kind: 'DumpFormatError', code: 'MEERKAT_ERR_DUMP_FORMAT' });
      const plain = await runCommand(failing(() => new Error('boom')), ['fail']);
      assert.equal(plain.code, 1);
      assert.equal(plain.err, 'error: boom [MEERKAT_ERR_UNEXPECTED]\n');
    });
  });
});
