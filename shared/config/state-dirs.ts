// Where the collector keeps its state by default (database, dumps, PKI, enrollment tokens).
// The collector uses it, and so does the console when it works on the collector's host
// (`meerkat pki`, `meerkat operator`): one path both programs agree on.
export const COLLECTOR_STATE_DIR = '/var/lib/meerkat-collector';
