// Stands in for node:child_process inside commander in the agent bundle
// (scripts/bundle-agent.mjs). commander spawns only for executable sub-commands, which the
// agent does not declare; loading the real module at start brings net, dgram and their
// streams (~20 ms of every start, `replay` included). The real module loads on first use.
'use strict';
module.exports = {
  get spawn() {
    return require('node:child_process').spawn;
  },
};
