// The analyzer plug-in contract: what a built-in or user analyzer implements, what the
// host gives it (AnalyzerContext) and what it emits (AlertInput). Types only.
//
// Time in every hook is PACKET time (the flow stream's own clock, µs since the epoch),
// never the wall clock: importing a six-hour capture in seconds gives the same alerts.
import type { Logger } from '../../shared/log.js';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { FlowSides } from './flow-sides.js';
import type { AlertInput } from '../../shared/alerts/alert-record.js';
import type { DnsRecord, HttpRecord, TlsRecord } from '../../shared/flow/app-records.js';

/** Where a DNS name came from (the 4th argument of onDnsName). */
export interface DnsNameInfo {
  agentId: string;
  /** packet time of the DNS message (µs) */
  tsUs: number;
  /** question, answer owner, or a name an answer points to */
  role: 'query' | 'answer';
  /** the DNS client / server addresses when known (as stored) */
  client?: string;
  server?: string;
  /** the client address is a pseudonym */
  clientAnon?: boolean;
  /** the DNS flow's uid (names from the agents' metadata) */
  uid?: string;
}

export interface AnalyzerContext {
  /** name of the analyzer this context belongs to */
  readonly analyzer: string;
  /** hands an alert to the alert pipeline (validated; see docs/analyzers.md) */
  emit(alert: AlertInput): void;
  /** newest packet time seen on the stream (µs); 0 before the first record */
  nowUs(): number;
  /** newest packet time seen from one agent (µs); 0 if none */
  agentNowUs(agentId: string): number;
  /** local/remote side, direction and scope of a record (computed once per record, shared) */
  sides(rec: FlowRecord): FlowSides;
  /** true only during the last onTick of a stream (end of an import, shutdown): evaluate partial windows */
  readonly finalTick: boolean;
  /** folder relative paths in the analyzer's config are resolved against */
  readonly baseDir: string;
  readonly log: Logger;
}

/** One problem a config schema found: where (key path) and what. */
export interface ConfigIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

export type ConfigCheck<Config> = { readonly value: Config; readonly issues?: undefined } | { readonly issues: ReadonlyArray<ConfigIssue> };

/**
 * The schema of an analyzer's config, in the Standard Schema shape (standardschema.dev): a zod
 * schema is one as it is, and so are valibot's and arktype's. The host validates the config
 * with it once, before setup, and hands setup the validated value (defaults filled in).
 */
export interface ConfigSchema<Config = unknown> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    validate(value: unknown): ConfigCheck<Config> | Promise<ConfigCheck<Config>>;
  };
}

export interface Analyzer<Config = unknown> {
  /** unique per host; used in alerts, logs and status */
  name: string;
  /** validates the config before setup (a failure disables the analyzer with the key path named) */
  configSchema?: ConfigSchema<Config>;
  /** called once before any record, with the config (validated when configSchema is set); may be async (time-limited, see AnalyzerHost) */
  setup?(config: Config, ctx: AnalyzerContext): void | Promise<void>;
  /** every flow record (start/status/close/timeout/flush; counters cover the record only) */
  onFlow?(rec: FlowRecord, ctx: AnalyzerContext): void;
  /**
   * a DNS name seen: a question or answer of a DNS transaction (agent metadata), or of a DNS
   * message in captured payload; rec is the flow when known. Pseudonymized names are not handed
   * on here (they are keyed tokens, not names: onDns has them with their mark).
   */
  onDnsName?(name: string, rec: FlowRecord | undefined, ctx: AnalyzerContext, info?: DnsNameInfo): void;
  /**
   * a DNS transaction from the agents' metadata (query and answer, as `meerkat dns` shows it):
   * when its answer arrives, or unanswered when its flow ends. Names and addresses carry their
   * pseudonym marks (query_anon, answers[].anon): never match a pseudonym against public data.
   */
  onDns?(rec: DnsRecord, ctx: AnalyzerContext): void;
  /** a TLS handshake (client and server hello, as `meerkat tls` shows it; QUIC: the client hello) */
  onTls?(rec: TlsRecord, ctx: AnalyzerContext): void;
  /** an HTTP/1.x request head */
  onHttp?(rec: HttpRecord, ctx: AnalyzerContext): void;
  /** packet time advanced past a tick boundary (default every 60 s of packet time) */
  onTick?(nowUs: number, ctx: AnalyzerContext): void;
  /** release timers, watchers, files */
  close?(): void;
}

/** A user module may export an Analyzer object, or a factory that returns one per configured instance. */
export type AnalyzerFactory = (config: unknown) => Analyzer | Promise<Analyzer>;
