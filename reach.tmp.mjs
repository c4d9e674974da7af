import { build } from 'esbuild';
const entry = process.argv[2];
const r = await build({ entryPoints: [entry], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', outdir: '/tmp/pimp/unused', external: ['better-sqlite3', 'pg-native'], logLevel: 'error', splitting: true });
const outs = r.metafile.outputs;
// static closure from the entry output
const main = Object.keys(outs).find((o) => outs[o].entryPoint === entry);
const seen = new Set(); const stack = [main];
while (stack.length) { const f = stack.pop(); if (seen.has(f)) continue; seen.add(f); for (const i of outs[f].imports) if (!i.external && i.kind === 'import-statement') stack.push(i.path); }
const pk = new Map(); let total = 0;
for (const f of seen) for (const [inp, v] of Object.entries(outs[f].inputs)) { const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(inp); const k = m ? m[1] : inp.split('/').slice(0, 3).join('/'); pk.set(k, (pk.get(k) ?? 0) + v.bytesInOutput); total += v.bytesInOutput; }
console.log('total', total);
for (const [k, v] of [...pk].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(v, k);
