#!/usr/bin/env node
// meerkat-agent: the endpoint service (capture, anonymize, pack, spool, ship).
import { holdYoungGeneration } from './service-heap.js';

// `run` is the long-lived service: V8's young generation is held small before anything else
// loads, whichever way the process was started (agent/service-heap.ts)
if (process.argv[2] === 'run') holdYoungGeneration();

const { runAgentCli } = await import('./cli-program.js');
await runAgentCli();
