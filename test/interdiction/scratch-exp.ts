import { createLan, destroyLan, lanExec } from './lan.js';
import { startWorker } from './worker-client.js';
const lan = createLan();
try {
  const t0 = Date.now();
  const [host, peer1] = await Promise.all([startWorker(lan, 'host'), startWorker(lan, 'peer1')]);
  console.log('workers', Date.now() - t0);
  await peer1.call('listen', { port: 9000, mode: 'sink' });
  await host.call('listen', { port: 9001, mode: 'sink' });
  await host.call('mgrCreate', { stateFile: '/tmp/mk-exp-state/state.json' });
  await host.call('mgrSetChannel', { address: lan.ip4.collector, port: 8443 });
  const rate = Number(process.argv[2] ?? 64000);
  console.log(JSON.stringify(await host.call('mgrApply', { change: { kind: 'degrade', peer: lan.ip4.peer1, rateBytesPerSec: rate } })));
  for (const dir of ['out', 'in']) {
    if (dir === 'out') await host.call('bulk', { host: lan.ip4.peer1, port: 9000, bytes: 2_000_000 });
    else await peer1.call('bulk', { host: lan.ip4.host, port: 9001, bytes: 2_000_000 });
    const w = dir === 'out' ? peer1 : host;
    const port = dir === 'out' ? 9000 : 9001;
    const samples = [];
    for (let i = 0; i < 6; i++) { await new Promise((r) => setTimeout(r, 500)); samples.push((await w.call<any>('sinkStats', { port })).received); }
    console.log(dir, samples, 'rate over 3s', samples[5] / 3, 'steady (0.5..3s)', (samples[5] - samples[0]) / 2.5);
    await host.call('reset'); await peer1.call('reset');
  }
  console.log(lanExec(lan, 'host', 'nft', ['list', 'ruleset']));
  await host.call('mgrRelease');
  host.close(); peer1.close();
} finally { destroyLan(lan); }
