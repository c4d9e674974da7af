// Whole-process `meerkat-collector import` against `argus -r` (and another build) in
// alternated rounds: bench/whole-alternated.ts.
//   node dist/bench/import-alternated.js --capture FILE --anon-key KEY [--base OTHER_REPO] [--rounds N] [--keep DIR]
import { runAlternated } from './whole-alternated.js';

runAlternated('import');
