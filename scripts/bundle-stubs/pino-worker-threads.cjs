// Stands in for node:worker_threads inside pino in the agent bundle (scripts/bundle-agent.mjs).
// pino reads isMainThread only for asynchronous destinations; the agent logs synchronously to
// stderr from its main thread, so the answer is fixed and the real module (with the worker
// machinery it loads, ~0.4 MB resident) stays unloaded.
'use strict';
module.exports = { isMainThread: true };
