// What the shipped program bundles (scripts/bundle-agent.mjs, scripts/bundle-collector.mjs)
// share: ES modules for node 20 with lazily loaded chunks, a require() for the CommonJS
// dependencies inside (commander, pino, ws), and a metafile (the tests read what loads when).
export const ESM_BUNDLE_OPTIONS = {
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // CommonJS dependencies call require(): give the ESM bundle one
  banner: { js: "import{createRequire as __meerkatRequire}from'node:module';const require=__meerkatRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
};
