// zod/mini ships without messages (each locale is opt-in): English for every schema the
// agent and shared code build. Imported for its side effect by each module that uses
// zod/mini. Why zod/mini there and not classic zod: classic's `z` namespace keeps the whole
// library alive (450 KB in the agent bundle, ~5 MB of agent RSS); mini's functions tree-shake
// to ~20 KB. The collector keeps classic zod (docs/dependencies.md).
import { config } from 'zod/mini';
// the English locale alone: `zod/locales` is an index of every locale (65 modules to load
// when not bundled, a tenth of what `meerkat-collector import` loaded at start)
import en from 'zod/v4/locales/en.js';

config(en());
