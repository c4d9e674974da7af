// Automatic responses in a flow worker, on a real NATS JetStream server and a real PostgreSQL
// cluster started here: the reference capture's dumps hit a threat feed, the worker's alerts meet
// a "responses" rule (one command per agent and hour), and the worker signs a capture command for
// the first listed peer (the second is suppressed by the limit), records it in
// org_<id>.response_issues and sends it through NATS. No front-end holds the agent at first; the
// worker retries until a front-end's AgentRelay (the real relay; the agent server behind it is a
// recorder of what it would send the agent) answers for it. The command verifies with the
// organisation's response key as the agent verifies it. A second worker taking the partition
// over sees the limit the first one recorded: its new alert issues nothing.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentRelay } from '../../../collector/scale/agent-relay.js';
import { FlowWorker } from '../../../collector/scale/flow-worker.js';
import { parseResponsesConfig } from '../../../collector/respond/response-config.js';
import { verifyCommand } from '../../../shared/commands/command-signing.js';
import { loadOperatorPublicKey, OPERATOR_PUB_FILE } from '../../../shared/commands/operator-keys.js';
import { logger } from '../../../shared/log.js';
import { PgFlowStore } from '../../../shared/store/postgres/pg-flow-store.js';
import { startScaleRig, until, type ScaleRig } from '../../helpers/scale-rig.js';
import { tmpDir } from '../../helpers/transport-rig.js';

const AGENT = '00000000-0000-4000-8000-0000000000c3';
/** on packets 7..185 and 189..519 (dumps 1-6); the third on 678..1199 (dumps 7-12) */
const LISTED = ['54.69.204.241', '52.89.39.139', '23.246.11.141'];

describe('flow worker automatic responses (NATS JetStream, PostgreSQL)', function () {
  this.timeout(120_000);
  let rig: ScaleRig;
  let dir: string;
  const workers: FlowWorker[] = [];
  let relay: AgentRelay | null = null;

  before(async () => {
    dir = tmpDir('worker-responses');
    rig = await startScaleRig();
  });
  after(async () => {
    await relay?.stop();
    for (const w of workers) await w.stop({ flush: false }).catch(() => undefined);
    await rig?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs a command within the limits, delivers it once a front-end holds the agent; the limits hold across workers', async () => {
    const feed = join(dir, 'bad-ips.txt');
    writeFileSync(feed, LISTED.join('\n') + '\n');
    const keyDir = join(dir, 'response-key');
    const { pool, nc } = rig;
    const store = await PgFlowStore.open(pool, 'resp');
    const publish = (from: number, to: number): Promise<void> => rig.publish('resp', store, AGENT, from, to);
    await publish(1, 6);
    const start = async (id: string): Promise<FlowWorker> => FlowWorker.start(rig.workerConfig(['resp'], id), {
      log: logger('worker-responses-test'),
      analysis: {
        config: { analysis: { defaultAnalyzers: false }, analyzers: [{ builtin: 'threat-intel', config: { watch: false, feeds: [{ name: 'bad', path: feed }] } }] },
        configSource: 'test config',
        baseDir: dir,
        responses: {
          rules: parseResponsesConfig([{ category: 'threat-intel', minSeverity: 'low', command: { type: 'capture-full', forSec: 60 }, rateLimit: { perAgentPerHour: 1 } }]),
          keyDir: () => keyDir,
          retryMs: 200,
        },
      },
    });
    const w1 = await start('w1');
    workers.push(w1);
    await until('every dump committed', async () => (await store.countDumps()) === 6);
    const issues = async (): Promise<Array<{ agent_id: string; kind: string; envelope: { params: { peer: string } }; delivered_ms: number | null; delivered_by: string | null; command_id: string }>> =>
      (await pool.query('SELECT * FROM org_resp.response_issues ORDER BY issued_ms')).rows;
    const peers = async (): Promise<string[]> => (await pool.query<{ peer: string }>(`SELECT DISTINCT peer FROM org_resp.alerts WHERE category = 'threat-intel' ORDER BY peer`)).rows.map((r) => r.peer);
    await until('alerts for the two listed peers of dumps 1-6', async () => (await peers()).length === 2);
    await until('a command issued', async () => (await issues()).length >= 1);
    assert.equal((await issues()).length, 1, 'the second peer\'s alert is over the per-agent limit');
    assert.equal((await issues())[0]!.delivered_ms, null, 'no front-end holds the agent yet');

    // a front-end with the agent connected: the worker's retry reaches it
    const sent: Array<{ agentId: string; id: string; command: unknown }> = [];
    relay = await AgentRelay.start(nc, nc.jetstream(), {
      connectedAgents: () => [AGENT],
      sendCommand: (agentId, id, command) => { sent.push({ agentId, id, command }); return true; },
    }, { frontendId: 'fe-test', orgOf: () => 'resp', log: logger('relay-test') });
    await until('the command delivered', async () => (await issues()).every((r) => r.delivered_ms !== null));
    await until('both decisions counted', () => w1.responseStats().every((r) => r.issued + r.limited === 2));
    assert.deepEqual(w1.responseStats(), [{ org: 'resp', issued: 1, limited: 1, skipped: 0, delivered: 1, undelivered: 0, errors: 0 }]);
    const rows = await issues();
    assert.deepEqual(rows.map((r) => r.delivered_by), ['fe-test']);
    assert.ok(LISTED.slice(0, 2).includes(rows[0]!.envelope.params.peer));
    assert.equal(sent.length, 1, 'sent once');
    const pub = loadOperatorPublicKey(join(keyDir, OPERATOR_PUB_FILE));
    for (const s of sent) {
      const v = verifyCommand(s.command, { agentId: AGENT, nowMs: Date.now(), keys: new Map([[pub.keyId, pub.key]]) });
      assert.ok(v.ok, `the agent accepts it: ${v.ok ? '' : v.reason}`);
      assert.equal(v.envelope.kind, 'capture.peer');
      assert.ok(rows.some((r) => r.command_id === s.id));
    }
    const other = verifyCommand(sent[0]!.command, { agentId: '00000000-0000-4000-8000-0000000000ff', nowMs: Date.now(), keys: new Map([[pub.keyId, pub.key]]) });
    assert.equal(other.ok, false, 'and it names its agent');

    // another worker takes the partition over; its alert on the third listed peer meets the limit recorded by the first
    await w1.stop({ flush: false });
    await publish(7, 12);
    const w2 = await start('w2');
    workers.push(w2);
    await until('dumps 7-12 committed and the third peer alerted', async () => (await store.countDumps()) === 12 && (await peers()).length === 3);
    await w2.stop({ flush: false }); // waits for the decisions under way
    assert.equal((await issues()).length, 1, 'no second command within the hour, whichever worker decides');
    assert.equal(sent.length, 1);
  });
});
