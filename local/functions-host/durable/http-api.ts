// The Durable Functions HTTP API (protocol doc §4), served identically under the public webhook base
// `/runtime/webhooks/durabletask/` and under `rpcBaseUrl` (`/durabletask/`) that DurableClient calls.
import { HostError, errorMessage } from '../errors';
import { DurableEngine, terminalStatuses } from './engine';
import { EventType, eventTypeName, type HistoryEvent } from './history';
import type { InstanceRow } from './store';

export interface ApiRequest {
  method: string;
  segments: string[]; // path after the base, decoded
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown; // serialized as JSON when defined
}

export interface HostUrls {
  baseUrl: string; // http://127.0.0.1:7071
  hubName: string;
}

const runningStatuses = new Set(['Pending', 'Running', 'ContinuedAsNew', 'Suspended']);

export class DurableHttpApi {
  readonly webhookBase: string;
  private readonly qs: string;

  constructor(
    private readonly engine: DurableEngine,
    private readonly urls: HostUrls,
  ) {
    this.webhookBase = `${urls.baseUrl}/runtime/webhooks/durabletask`;
    this.qs = `taskHub=${encodeURIComponent(urls.hubName)}&connection=Storage`;
  }

  /** The durable client binding value (protocol doc §4.1), in RPC mode against this host. */
  clientData(): Record<string, unknown> {
    const w = this.webhookBase;
    return {
      taskHubName: this.urls.hubName,
      creationUrls: {
        createNewInstancePostUri: `${w}/orchestrators/{functionName}[/{instanceId}]?${this.qs}`,
        createAndWaitOnNewInstancePostUri: `${w}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${this.qs}`,
      },
      managementUrls: this.managementUrls('INSTANCEID', false),
      baseUrl: w,
      requiredQueryStringParameters: this.qs,
      rpcBaseUrl: `${this.urls.baseUrl}/durabletask/`,
      httpBaseUrl: w,
    };
  }

  managementUrls(id: string, encode = true): Record<string, string> {
    const i = encode ? encodeURIComponent(id) : id;
    const w = `${this.webhookBase}/instances/${i}`;
    return {
      id,
      statusQueryGetUri: `${w}?${this.qs}`,
      sendEventPostUri: `${w}/raiseEvent/{eventName}?${this.qs}`,
      terminatePostUri: `${w}/terminate?reason={text}&${this.qs}`,
      rewindPostUri: `${w}/rewind?reason={text}&${this.qs}`,
      purgeHistoryDeleteUri: `${w}?${this.qs}`,
      restartPostUri: `${w}/restart?${this.qs}`,
      suspendPostUri: `${w}/suspend?reason={text}&${this.qs}`,
      resumePostUri: `${w}/resume?reason={text}&${this.qs}`,
    };
  }

  private checkStatus(id: string): ApiResponse {
    const payload = this.managementUrls(id);
    return { status: 202, headers: { Location: payload.statusQueryGetUri!, 'Retry-After': '10' }, body: payload };
  }

  async handle(req: ApiRequest): Promise<ApiResponse> {
    const [head, id, op, arg] = req.segments;
    const method = req.method.toUpperCase();
    try {
      if (head === 'orchestrators' && method === 'POST' && id !== undefined && req.segments.length <= 3) {
        return await this.start(id, op, req);
      }
      if (head === 'instances') {
        if (id === undefined) {
          if (method === 'GET') return this.query(req);
          if (method === 'DELETE') return this.purgeBy(req);
        } else if (op === undefined) {
          if (method === 'GET') return this.status(id, req);
          if (method === 'DELETE') {
            const n = this.engine.purge(id);
            return n > 0 ? { status: 200, body: { instancesDeleted: n } } : notFound(id);
          }
        } else if (method === 'POST') {
          if (op === 'raiseEvent' && arg !== undefined && req.segments.length === 4) return this.raise(id, arg, req);
          if (op === 'terminate' || op === 'suspend' || op === 'resume') {
            const r = this.engine.control(id, op, req.query.get('reason') ?? undefined);
            if (r === false) return notFound(id);
            if (r === 'gone') return gone(id);
            return { status: 202 };
          }
          if (op === 'restart') return this.restart(id, req);
          if (op === 'rewind') {
            const row = this.engine.getRow(id);
            if (!row) return notFound(id);
            return { status: 501, body: error('NotSupported', 'Rewind is not supported by the local host.') };
          }
        }
      }
      if (head === 'entities') {
        if (method === 'GET')
          return { status: 404, body: error('NotSupported', 'Durable entities are not supported by the local host.') };
        return { status: 501, body: error('NotSupported', 'Durable entities are not supported by the local host.') };
      }
      return {
        status: 404,
        body: error('RouteNotFound', `No Durable API route for ${method} /${req.segments.join('/')}.`),
      };
    } catch (err) {
      if (err instanceof HostError)
        return { status: err.status === 500 ? 500 : err.status, body: error(err.code, err.message) };
      throw err;
    }
  }

  private async start(name: string, instanceId: string | undefined, req: ApiRequest): Promise<ApiResponse> {
    const inputText = jsonBody(req.body);
    const id = this.engine.startNew(name, instanceId, inputText, req.query.get('version') ?? undefined);
    const timeout = Number(req.query.get('timeout'));
    if (Number.isFinite(timeout) && timeout > 0) {
      const interval = Math.max(0.05, Number(req.query.get('pollingInterval')) || 1) * 1000;
      const deadline = Date.now() + timeout * 1000;
      for (;;) {
        const row = this.engine.getRow(id);
        if (row && terminalStatuses.has(row.status)) {
          return row.status === 'Completed'
            ? { status: 200, body: parse(row.output) }
            : { status: 200, body: this.statusBody(row, {}) };
        }
        if (Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(1, deadline - Date.now()))));
      }
    }
    return this.checkStatus(id);
  }

  private restart(id: string, req: ApiRequest): ApiResponse {
    const row = this.engine.getRow(id);
    if (!row) return notFound(id);
    const newId = req.query.get('restartWithNewInstanceId') !== 'false';
    const started = this.engine.startNew(row.name, newId ? undefined : id, row.input, row.version ?? undefined);
    return this.checkStatus(started);
  }

  private raise(id: string, name: string, req: ApiRequest): ApiResponse {
    let inputText: string | null = null;
    if (req.body.length > 0) {
      const type = String(req.headers['content-type'] ?? '');
      if (type && !/json/i.test(type))
        return { status: 400, body: error('BadRequest', 'Event data must be sent as application/json.') };
      inputText = jsonBody(req.body);
    }
    const r = this.engine.raiseEvent(id, name, inputText);
    if (r === false) return notFound(id);
    if (r === 'gone') return gone(id);
    return { status: 202 };
  }

  private status(id: string, req: ApiRequest): ApiResponse {
    const row = this.engine.getRow(id);
    if (!row) return notFound(id);
    const body = this.statusBody(row, {
      showHistory: req.query.get('showHistory') === 'true',
      showHistoryOutput: req.query.get('showHistoryOutput') === 'true',
      showInput: req.query.get('showInput') !== 'false',
    });
    if (runningStatuses.has(row.status)) {
      return {
        status: 202,
        headers: { Location: this.managementUrls(id).statusQueryGetUri!, 'Retry-After': '5' },
        body,
      };
    }
    const failStatus =
      row.status === 'Failed' && req.query.get('returnInternalServerErrorOnFailure') === 'true' ? 500 : 200;
    return { status: failStatus, body };
  }

  statusBody(
    row: InstanceRow,
    o: { showHistory?: boolean; showHistoryOutput?: boolean; showInput?: boolean },
  ): Record<string, unknown> {
    const body: Record<string, unknown> = {
      name: row.name,
      instanceId: row.id,
      runtimeStatus: row.status,
      input: o.showInput === false ? null : parse(row.input),
      customStatus: parse(row.custom_status),
      output: parse(row.output),
      createdTime: isoSeconds(row.created_at),
      lastUpdatedTime: isoSeconds(row.updated_at),
    };
    if (o.showHistory) {
      const events = displayHistory(this.engine.historyOf(row.id), Boolean(o.showHistoryOutput));
      // The extension returns historyEvents; durable-functions 3.x copies `history` (durable-js #620): send both.
      body.historyEvents = events;
      body.history = events;
    }
    return body;
  }

  private query(req: ApiRequest): ApiResponse {
    const filter = this.filter(req);
    const topText = req.query.get('top');
    const top = topText ? Math.max(1, Math.min(1000, Number(topText) || 100)) : 100;
    const tokenHeader = req.headers['x-ms-continuation-token'];
    const token = Array.isArray(tokenHeader) ? tokenHeader[0] : tokenHeader;
    let after: { c: number; id: string } | undefined;
    if (token) {
      try {
        after = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { c: number; id: string };
      } catch {
        return { status: 400, body: error('BadRequest', 'Invalid x-ms-continuation-token.') };
      }
      if (typeof after?.c !== 'number' || typeof after.id !== 'string')
        return { status: 400, body: error('BadRequest', 'Invalid x-ms-continuation-token.') };
    }
    const rows = this.engine.store.query({ ...filter, after, limit: top + 1 });
    const page = rows.slice(0, top);
    const headers: Record<string, string> = {};
    if (rows.length > top) {
      const last = page[page.length - 1]!;
      headers['x-ms-continuation-token'] = Buffer.from(JSON.stringify({ c: last.created_at, id: last.id })).toString(
        'base64url',
      );
    }
    const showInput = req.query.get('showInput') !== 'false';
    return { status: 200, headers, body: page.map((r) => this.statusBody(r, { showInput })) };
  }

  private purgeBy(req: ApiRequest): ApiResponse {
    if (!req.query.get('createdTimeFrom'))
      return { status: 400, body: error('BadRequest', 'createdTimeFrom is required to purge instances.') };
    const n = this.engine.purgeWhere(this.filter(req));
    return n > 0
      ? { status: 200, body: { instancesDeleted: n } }
      : { status: 404, body: error('InstanceNotFound', 'No instances matched the filter.') };
  }

  private filter(req: ApiRequest): { from?: number; to?: number; statuses?: string[]; prefix?: string } {
    const time = (name: string): number | undefined => {
      const v = req.query.get(name);
      if (!v) return undefined;
      const t = Date.parse(v);
      if (Number.isNaN(t)) throw new HostError('BadRequest', `${name} is not a valid date: ${v}`, 400);
      return t;
    };
    const statuses = (req.query.get('runtimeStatus') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map((s) => s.charAt(0).toUpperCase() + s.slice(1));
    return {
      from: time('createdTimeFrom'),
      to: time('createdTimeTo'),
      statuses: statuses.length ? statuses : undefined,
      prefix: req.query.get('instanceIdPrefix') ?? undefined,
    };
  }
}

function jsonBody(body: Buffer): string | null {
  const text = body.toString('utf8').trim();
  if (text === '') return null;
  try {
    JSON.parse(text);
  } catch (err) {
    throw new HostError('BadRequest', `The request body is not valid JSON: ${errorMessage(err)}`, 400);
  }
  return text;
}

function parse(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function error(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

function notFound(id: string): ApiResponse {
  return { status: 404, body: error('InstanceNotFound', `No instance with ID '${id}' was found.`) };
}

function gone(id: string): ApiResponse {
  return { status: 410, body: error('InstanceCompleted', `Instance '${id}' has already finished.`) };
}

/** History as the extension shows it: names for event types, scheduling folded into completions. */
function displayHistory(events: HistoryEvent[], showOutput: boolean): Record<string, unknown>[] {
  const scheduled = new Map<number, { name: unknown; at: string }>();
  const out: Record<string, unknown>[] = [];
  for (const e of events) {
    const type = e.EventType;
    if (type === EventType.OrchestratorStarted || type === EventType.OrchestratorCompleted) continue;
    if (type === EventType.TaskScheduled || type === EventType.SubOrchestrationInstanceCreated) {
      scheduled.set(e.EventId, { name: e.Name, at: e.Timestamp });
      if (type === EventType.TaskScheduled) continue;
    }
    const d: Record<string, unknown> = {
      EventType: eventTypeName[type] ?? String(type),
      EventId: e.EventId,
      Timestamp: e.Timestamp,
    };
    for (const [k, v] of Object.entries(e)) {
      if (k === 'EventType' || k === 'EventId' || k === 'IsPlayed' || k === 'Timestamp') continue;
      if ((k === 'Result' || k === 'Input') && !showOutput && type !== EventType.ExecutionStarted) continue;
      if (k === 'Name' && type === EventType.ExecutionStarted) {
        d.FunctionName = v;
        continue;
      }
      d[k] = v;
    }
    const ref = typeof e.TaskScheduledId === 'number' ? scheduled.get(e.TaskScheduledId) : undefined;
    if (ref) {
      d.FunctionName = ref.name;
      d.ScheduledTime = ref.at;
    }
    out.push(d);
  }
  return out;
}
