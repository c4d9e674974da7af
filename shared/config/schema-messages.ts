// zod/mini ships without messages (each locale is opt-in): English for every schema the
// agent and shared code build. Imported for its side effect by each module that uses
// zod/mini. Why zod/mini there and not classic zod: classic's `z` namespace keeps the whole
// library alive (450 KB in the agent bundle, ~5 MB of agent RSS); mini's functions tree-shake
// to ~20 KB. The collector keeps classic zod (docs/dependencies.md).
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());
