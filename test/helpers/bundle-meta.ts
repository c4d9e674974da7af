// esbuild metafiles of the shipped bundles (dist/agent-bundle, dist/collector-bundle): which
// output chunks a program loads before any import(), and the inputs in them.

export interface Metafile {
  outputs: Record<string, { bytes?: number; imports: { path: string; kind: string; external?: boolean }[]; inputs: Record<string, unknown> }>;
}

/** The output chunks `roots` load through static imports (themselves included). */
export function staticallyLoaded(meta: Metafile, ...roots: string[]): string[] {
  const seen = new Set<string>();
  const visit = (f: string): void => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const i of meta.outputs[f]?.imports ?? []) if (!i.external && i.kind === 'import-statement') visit(i.path);
  };
  for (const r of roots) visit(r);
  return [...seen];
}

/** The first output chunk holding the input `file` (a path as esbuild names it, e.g. dist/agent/cli-program.js). */
export function chunkOf(meta: Metafile, file: string): string | undefined {
  return Object.keys(meta.outputs).find((o) => !o.endsWith('.map') && Object.keys(meta.outputs[o]!.inputs).some((i) => i === file || i.endsWith('/' + file)));
}
