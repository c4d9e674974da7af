// What to run next after `meerkat-collector init` (and `token create --instructions`): the
// exact commands that bring an endpoint online, including how the network owner's keys get
// there. The owner's anon.key and box.pub never pass through the collector: the owner makes
// them (`meerkat keys init`) and hands them to the endpoints, or builds packages that carry
// them (`meerkat package agent`). Pure: text and the same steps as data for --json.

export interface InstructionInput {
  /** https://host:port agents connect to */
  collectorUrl: string;
  token: string;
  /** the operator's op.pub to pin on agents (null when unknown: a placeholder is printed) */
  operatorPub: string | null;
}

export interface InstructionStep {
  /** who runs it, where */
  where: string;
  what: string;
  commands: string[];
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function agentSteps(i: InstructionInput): InstructionStep[] {
  const pub = shellWord(i.operatorPub ?? 'op.pub');
  const url = shellWord(i.collectorUrl);
  const token = shellWord(i.token);
  return [
    {
      where: 'on the network owner\'s machine, once',
      what: 'the owner\'s keys: anon.key (pseudonyms) and box.pub go to every endpoint, box.key stays with the owner; the collector never sees them',
      commands: ['meerkat keys init'],
    },
    {
      where: 'on each endpoint, as root, with anon.key and box.pub from the owner and op.pub from the operator copied there',
      what: 'enroll (the key pair is made on the endpoint), install the owner\'s keys, pin the operator key; then run the agent',
      commands: [
        `meerkat-agent enroll --collector ${url} --token ${token} --anon-key anon.key --box-pub box.pub --operator-key ${i.operatorPub ? 'op.pub' : pub}`,
        'meerkat-agent run',
      ],
    },
    {
      where: 'or instead, on the owner\'s machine: agent packages that carry all of it (the token needs one use per endpoint)',
      what: '.deb, .rpm and setup.exe that enroll at install and run as a service',
      commands: [`meerkat package agent --collector ${url} --token ${token} --operator-key ${pub}`],
    },
  ];
}

export function stepsText(steps: readonly InstructionStep[]): string {
  return steps.map((s) => `  ${s.where}:\n${s.commands.map((c) => `      ${c}\n`).join('')}`).join('');
}
