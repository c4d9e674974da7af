// Whole-process `meerkat-agent replay` against `argus -r` (and another build) in alternated
// rounds: bench/whole-alternated.ts.
//   node dist/bench/replay-alternated.js --capture FILE --anon-key KEY [--base OTHER_REPO] [--rounds N] [--keep DIR] [--agent-id UUID]
import { runAlternated } from './whole-alternated.js';

runAlternated('replay');
