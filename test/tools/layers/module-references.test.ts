// The module-reference finder on every form an import takes, on text that only looks like an
// import (comments, strings, templates, regular expressions), and on arbitrary text.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { moduleReferences, type ReferenceKind } from '../../../tools/layers/module-references.js';

const found = (src: string): Array<[string, ReferenceKind]> => moduleReferences(src).map((r) => [r.specifier, r.kind]);

describe('module references', () => {
  it('finds static imports of every shape, type-only ones included', () => {
    const src = [
      "import a from './a.js';",
      "import * as b from '../b.js';",
      "import { c, type D, e as f } from './c.js';",
      "import type { G } from './g.js';",
      "import h, { i } from './h.js'",
      "import './side-effect.js';",
      'import {',
      '  multi,',
      '  line,',
      "} from '../multi.js';",
      "import { from } from './named-from.js';",
    ].join('\n');
    assert.deepEqual(found(src), [
      ['./a.js', 'import'], ['../b.js', 'import'], ['./c.js', 'import'], ['./g.js', 'import'], ['./h.js', 'import'],
      ['./side-effect.js', 'import'], ['../multi.js', 'import'], ['./named-from.js', 'import'],
    ]);
  });

  it('finds re-exports, dynamic imports, import types, require and worker URLs', () => {
    const src = [
      "export * from './all.js';",
      "export * as ns from './ns.js';",
      "export { x, y as z } from './xy.js';",
      "export type { T } from './t.js';",
      "const m = await import('./lazy.js');",
      "type U = import('./typed.js').U;",
      "const r = require('./cjs.js');",
      "new Worker(new URL('./worker.js', import.meta.url));",
    ].join('\n');
    assert.deepEqual(found(src), [
      ['./all.js', 'export'], ['./ns.js', 'export'], ['./xy.js', 'export'], ['./t.js', 'export'],
      ['./lazy.js', 'dynamic'], ['./typed.js', 'dynamic'], ['./cjs.js', 'require'], ['./worker.js', 'url'],
    ]);
  });

  it('gives the line of each specifier', () => {
    const src = "// header\n\nimport a from './a.js';\n/* two\nlines */ import {\n b } from './b.js';\nconst s = `x\ny`; import('./c.js');\n";
    assert.deepEqual(moduleReferences(src).map((r) => [r.specifier, r.line]), [['./a.js', 3], ['./b.js', 6], ['./c.js', 8]]);
  });

  it('does not count what only looks like an import', () => {
    const src = [
      "// import a from '../agent/a.js';",
      "/* import b from '../agent/b.js'; */",
      "const s1 = \"import c from '../agent/c.js'\";",
      "const s2 = 'export * from \"../agent/d.js\"';",
      "const t = `import e from '../agent/e.js' ${'x'} import('../agent/f.js')`;",
      "const re = /import g from '..\\/agent\\/g.js'/;",
      "const u = import.meta.url;",
      "loader.import('../agent/h.js');",
      "export const from = 'i';",
      "export default function load(p: string) { return import(p); }",
      "import j = require('./j.js');",
    ].join('\n');
    assert.deepEqual(found(src), [['./j.js', 'require']]);
  });

  it('finds code inside template substitutions, nested braces included', () => {
    const src = "const t = `a ${await import('./in-template.js')} b ${ { k: 1 }.k } c`;\nimport x from './after.js';";
    assert.deepEqual(found(src), [['./in-template.js', 'dynamic'], ['./after.js', 'import']]);
  });

  it('never throws on arbitrary text, and every reference it reports is a string the text holds', () => {
    const piece = fc.constantFrom('import ', 'export ', 'from ', "'./m.js'", '"x"', '`', '${', '}', '{', '/', '//', '/*', '*/', '\\', '\n', '(', ')', ' ', 'a', '.', 'require(', 'new URL(');
    fc.assert(fc.property(fc.array(fc.oneof(piece, fc.string()), { maxLength: 40 }), (parts) => {
      const src = parts.join('');
      for (const r of moduleReferences(src)) {
        assert.ok(src.includes(r.specifier));
        assert.ok(r.line >= 1 && r.line <= src.split('\n').length);
      }
    }), { numRuns: 2000 });
  });
});
