// Stands in for zod's locales index (every language's error messages, ~300 kB of the bundle)
// in the collector bundle (scripts/bundle-collector.mjs): zod registers English itself and
// Meerkat never selects another locale, so `z.locales` keeps only `en`; start-up compiles the
// rest for nothing.
export { default as en } from 'zod/v4/locales/en.js';
