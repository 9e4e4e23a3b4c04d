// Every port of the app in one place: the interfaces through which the API, the activities and the
// sweeper reach the outside world. Adapters (azure/, agent/, the Durable client wiring) implement
// them and import only this module and contracts/ — never api/. Tests supply in-memory versions.
import type { AgentState, AgentStatusView, GroupView, JobEnvelope } from './contracts';
import type { LedgerDoc } from './admission/ledger';

// ---- Azure Container Instances (azure/aci.ts) ----
export interface GroupSpec {
  name: string;
  location: string;
  image: string;
  cpu: number;
  memoryGb: number;
  command?: string[];
  env: Record<string, string>;
  secureEnv: Record<string, string>;
  port: number;
  registryServer: string;
  jobIdentityResourceId: string;
  subnetId?: string;
  /** ACI priority (default Regular). Spot groups can have no inbound connectivity and no VNet. */
  priority?: 'Regular' | 'Spot';
  /** Pull mode: no IP address and no port at all (the agent calls out; nothing calls in). */
  noInbound?: boolean;
  tags: Record<string, string>;
}

export interface GroupSummary {
  name: string;
  tags: Record<string, string>;
  provisioningState: string | null;
}

export interface ContainerGroups {
  /** Idempotent PUT; returns once ARM accepted it (does not wait for provisioning). */
  create(spec: GroupSpec): Promise<void>;
  get(name: string): Promise<GroupView>;
  list(): Promise<GroupSummary[]>;
  /** Starts deletion; returns true if a group existed. */
  delete(name: string): Promise<boolean>;
  stop(name: string): Promise<boolean>;
  restart(name: string): Promise<void>;
  logs(name: string): Promise<string | undefined>;
}

// ---- Azure Container Registry (azure/acr.ts) ----
export interface ImageResolver {
  /** Digest (sha256:…) of repository:tag or repository@digest; throws ImageNotFound if absent. */
  resolve(repository: string, tagOrDigest: string): Promise<string>;
}

// ---- the batch agent in each group (agent/client.ts) ----
export interface AgentResult {
  jobId: string;
  state: AgentState;
  result: unknown;
  artifacts: { name: string; contentType: string; bytes: number }[];
}

export type StartAnswer =
  { ok: true } | { ok: false; code: string; message: string; details?: { field: string; message: string }[] };

export interface AgentClient {
  healthy(ip: string): Promise<boolean>;
  start(ip: string, token: string, body: { jobId: string; input?: unknown; command?: string[] }): Promise<StartAnswer>;
  status(ip: string, token: string): Promise<AgentStatusView>;
  cancel(ip: string, token: string): Promise<boolean>;
  /** undefined while the job has not finished (409) or when the agent is gone. */
  result(ip: string, token: string): Promise<AgentResult | undefined>;
  artifact(ip: string, token: string, name: string): Promise<Buffer | undefined>;
}

// ---- Blob: archived job files (azure/blob.ts) ----
/** Storage of archived job files (the results container). */
export interface ResultsStore {
  put(name: string, body: Buffer | string, contentType: string): Promise<string>;
  get(name: string): Promise<{ body: Buffer; contentType: string } | undefined>;
  exists(name: string): Promise<boolean>;
  url(name: string): string;
  /** Every blob whose name starts with prefix (names are full blob names). */
  list(prefix: string): Promise<StoredFile[]>;
  /** One blob as a stream (undefined if absent), so large artifacts are not held in memory. */
  open(name: string): Promise<(StoredFile & { stream: NodeJS.ReadableStream }) | undefined>;
  /** A read-only link to one blob that works without other credentials until expiresOn (a user-delegation SAS). */
  readLink(name: string, expiresOn: Date): Promise<string>;
}

export interface StoredFile {
  name: string;
  contentType: string;
  bytes: number;
}

// ---- Durable client: the job orchestrations (functions.ts / app.ts) ----
export interface InstanceInfo {
  instanceId: string;
  runtimeStatus: string;
  createdTime: string;
  input: unknown;
  customStatus: unknown;
  output: unknown;
}

export interface JobsBackend {
  /** Starts the job's orchestration with the first generation's envelope (instance id = job.instanceId). */
  start(envelope: JobEnvelope): Promise<void>;
  get(instanceId: string): Promise<InstanceInfo | undefined>;
  /** Every instance whose id starts with prefix (created at or after `since` when given). */
  list(prefix: string, since?: Date): Promise<InstanceInfo[]>;
  raise(instanceId: string, event: string, data: unknown): Promise<void>;
}

// ---- the admission ledger's storage (azure/blob.ts) ----
/** Read-modify-write with compare-and-swap. `mutate` may run several times. */
export interface LedgerStore {
  update<R>(mutate: (doc: LedgerDoc) => { changed: boolean; result: R }): Promise<R>;
  read(): Promise<LedgerDoc>;
}
