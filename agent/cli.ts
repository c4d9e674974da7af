#!/usr/bin/env node
// meerkat-agent: the endpoint service (capture, anonymize, pack, spool, ship).
// `run` is the long-lived service: V8's young generation is held small before anything else
// loads, whichever way the process was started (agent/service-heap.ts). Loaded for `run` only:
// its node:v8 import brings the heap snapshot machinery and streams (~20 ms of every start)
if (process.argv[2] === 'run') (await import('./service-heap.js')).holdYoungGeneration();

const { runAgentCli } = await import('./cli-program.js');
await runAgentCli();
