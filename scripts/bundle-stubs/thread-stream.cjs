// Stands in for thread-stream (pino's worker-thread transports) in the agent bundle
// (scripts/bundle-agent.mjs): the agent logs synchronously to stderr and never starts a
// transport. Using one anyway fails loudly instead of loading worker_threads.
'use strict';
module.exports = class ThreadStream {
  constructor() {
    throw new Error('pino transports are not available in the meerkat-agent bundle (it logs to stderr)');
  }
};
