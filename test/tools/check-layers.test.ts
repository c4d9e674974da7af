// The layer rule as a test: the checkout has no forbidden import, and the checker catches each
// kind of forbidden edge when one is added (temporary fixture trees, library and CLI alike).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkLayers } from '../../tools/check-layers.js';
import { checkReference } from '../../tools/layers/layer-rules.js';
import { nodeScriptArgs } from '../helpers/node-script.js';
import { repoRoot } from '../../shared/util/repo-paths.js';

/** A checkout-like tree: every layer holds one harmless file, plus the files given. */
function fixtureTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'meerkat-layers-'));
  const base: Record<string, string> = {
    'shared/util/text.ts': "import { join } from 'node:path';\nexport const x = join('a', 'b');\n",
    'certs/ca.ts': "import { x } from '../shared/util/text.js';\nexport const ca = x;\n",
    'agent/run.ts': "import { x } from '../shared/util/text.js';\nimport { ca } from '../certs/ca.js';\nexport const a = x + ca;\n",
    'collector/run.ts': "import type { Database } from 'better-sqlite3';\nimport { ca } from '../certs/ca.js';\nexport type D = Database;\nexport const c = ca;\n",
    'console/cli.ts': "import { x } from '../shared/util/text.js';\nexport const k = x;\n",
    // outside the rules: tests may import every layer
    'test/agent/run.test.ts': "import { a } from '../../agent/run.js';\nimport { c } from '../../collector/run.js';\nvoid a; void c;\n",
  };
  for (const [rel, text] of Object.entries({ ...base, ...files })) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

describe('layers', function () {
  const made: string[] = [];
  const tree = (files: Record<string, string>): string => {
    const root = fixtureTree(files);
    made.push(root);
    return root;
  };
  after(() => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

  it('the checkout imports across no forbidden edge', () => {
    const report = checkLayers(repoRoot());
    assert.ok(report.files > 200, `read only ${report.files} files`);
    assert.ok(report.references > report.files, `found only ${report.references} references`);
    assert.deepEqual(report.violations, []);
  });

  it('a fixture tree that keeps the rules passes', () => {
    const report = checkLayers(tree({}));
    assert.equal(report.files, 5);
    assert.deepEqual(report.violations, []);
  });

  const forbidden: Array<[string, string, string, string]> = [
    ['a program importing another (static)', 'collector/flow/engine.ts', "import { a } from '../../agent/run.js';\n", 'agent'],
    ['a program importing another (type only)', 'agent/control/types.ts', "import type { k } from '../../console/cli.js';\nexport type K = typeof k;\n", 'console'],
    ['a program importing another (dynamic)', 'console/commands/x.ts', "export async function f() { return (await import('../../collector/run.js')).c; }\n", 'collector'],
    ['a program importing another (re-export)', 'agent/reexport.ts', "export { c } from '../collector/run.js';\n", 'collector'],
    ['a program importing another (worker URL)', 'collector/pool.ts', "export const u = new URL('../agent/run.js', import.meta.url);\n", 'agent'],
    ['shared importing a program', 'shared/protocol/p.ts', "import { c } from '../../collector/run.js';\nexport const p = c;\n", 'collector'],
    ['shared importing certs', 'shared/keys/k.ts', "import { ca } from '../../certs/ca.js';\nexport const k = ca;\n", 'certs'],
    ['certs importing a program', 'certs/enroll.ts', "import { a } from '../agent/run.js';\nexport const e = a;\n", 'agent'],
    ['a program importing test code', 'agent/helper.ts', "import '../test/agent/run.test.js';\n", 'test'],
    ['a path that leaves the checkout', 'console/up.ts', "import '../../elsewhere/x.js';\n", '(outside the checkout)'],
  ];
  for (const [what, file, text, target] of forbidden) {
    it(`catches ${what}`, () => {
      const report = checkLayers(tree({ [file]: text }));
      assert.equal(report.violations.length, 1, JSON.stringify(report.violations));
      const v = report.violations[0]!;
      assert.equal(v.file, file);
      assert.equal(v.target, target);
      assert.ok(text.includes(v.specifier));
    });
  }

  it('judges paths only: packages and node: modules are not layers', () => {
    assert.equal(checkReference('shared/x.ts', 'node:fs', 1), undefined);
    assert.equal(checkReference('shared/x.ts', 'zod/mini', 1), undefined);
    assert.equal(checkReference('agent/x.ts', './y.js', 1), undefined);
    assert.equal(checkReference('bench/x.ts', '../agent/y.js', 1), undefined);
    assert.equal(checkReference('agent/x.ts', '/abs/collector/y.js', 1)?.target, '(an absolute path)');
  });

  it('the CLI exits 1 and names file, line and edge when a forbidden import is added; 0 when clean', () => {
    const run = (root: string, ...extra: string[]) => spawnSync(process.execPath, [...nodeScriptArgs('../../tools/check-layers', import.meta.url), '--root', root, ...extra], { encoding: 'utf8' });
    const clean = run(tree({}));
    assert.equal(clean.status, 0, clean.stderr);
    assert.match(clean.stdout, /^5 files, \d+ module references, 0 forbidden$/m);
    const bad = run(tree({ 'collector/server/s.ts': "// the server\nimport { a } from '../../agent/run.js';\nexport const s = a;\n" }));
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stdout, /^collector\/server\/s\.ts:2: imports "\.\.\/\.\.\/agent\/run\.js", but collector\/ may import only collector\/, shared\/, certs\/ \(not agent\)$/m);
    const json = run(tree({ 'console/x.ts': "import '../agent/run.js';\n" }), '--json');
    assert.equal(json.status, 1);
    assert.deepEqual((JSON.parse(json.stdout) as { violations: unknown[] }).violations, [{ file: 'console/x.ts', line: 1, specifier: '../agent/run.js', target: 'agent' }]);
    const emptyDir = mkdtempSync(join(tmpdir(), 'meerkat-layers-empty-'));
    made.push(emptyDir);
    const empty = run(emptyDir);
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /no source files/);
  });
});
