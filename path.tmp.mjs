import { build } from 'esbuild';
const [entry, target] = process.argv.slice(2);
const r = await build({ entryPoints: [entry], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', outdir: '/tmp/pimp/unused', external: ['better-sqlite3', 'pg-native'], logLevel: 'error' });
const ins = r.metafile.inputs;
const prev = new Map([[entry, null]]); const q = [entry];
while (q.length) { const f = q.shift(); for (const i of ins[f]?.imports ?? []) { if (i.kind === 'dynamic-import' || prev.has(i.path)) continue; prev.set(i.path, f); q.push(i.path); } }
for (const t of Object.keys(ins)) if (t.includes(target) && prev.has(t)) { const p = []; for (let x = t; x; x = prev.get(x)) p.push(x); console.log(p.reverse().join('\n  -> ')); break; }
