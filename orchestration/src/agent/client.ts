// Client of the batch agent's HTTP contract (batch-image/). It only ever talks to the IP that ARM
// reports for the job's own group (an IP literal, checked here), never to a URL a tenant supplied.
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { isIP } from 'node:net';
import { JOB_ERROR_CODES, type AgentState, type AgentStatusView } from '../contracts';
import { jobError } from '../errors';
import type { AgentClient, AgentResult } from '../ports';

export interface AgentClientOptions {
  port: number;
  timeoutMs?: number;
  maxResultBytes?: number;
}

const STATES: readonly AgentState[] = ['idle', 'running', 'succeeded', 'failed', 'canceled'];

export function createAgentClient(opts: AgentClientOptions): AgentClient {
  const http: AxiosInstance = axios.create({
    timeout: opts.timeoutMs ?? 10_000,
    maxRedirects: 0,
    proxy: false,
    validateStatus: () => true,
    maxContentLength: opts.maxResultBytes ?? 64 * 1024 * 1024,
  });
  const base = (ip: string): string => {
    if (isIP(ip) !== 4 && isIP(ip) !== 6)
      throw jobError(JOB_ERROR_CODES.agentUnreachable, `not an IP address: ${JSON.stringify(ip).slice(0, 60)}`);
    return isIP(ip) === 6 ? `http://[${ip}]:${opts.port}` : `http://${ip}:${opts.port}`;
  };
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const unreachable = (): AgentStatusView => ({
    reachable: false,
    state: null,
    progress: 0,
    message: '',
    exitCode: null,
    error: null,
  });
  const errorText = (v: unknown): string | null =>
    v === undefined || v === null ? null : (typeof v === 'string' ? v : JSON.stringify(v)).slice(0, 1000);

  return {
    async healthy(ip) {
      try {
        const r = await http.get(`${base(ip)}/healthz`, { timeout: Math.min(opts.timeoutMs ?? 10_000, 5_000) });
        return r.status === 200;
      } catch {
        return false;
      }
    },
    async start(ip, token, body) {
      let r: AxiosResponse;
      try {
        r = await http.post(`${base(ip)}/start`, body, {
          headers: { ...auth(token), 'Content-Type': 'application/json' },
        });
      } catch (e) {
        throw jobError(JOB_ERROR_CODES.agentUnreachable, `POST /start failed: ${(e as Error).message}`, true);
      }
      if (r.status === 202 || r.status === 200) return { ok: true };
      const err = (
        r.data as
          { error?: { code?: string; message?: string; details?: { field: string; message: string }[] } } | undefined
      )?.error;
      if (r.status === 400)
        return {
          ok: false,
          code: JOB_ERROR_CODES.invalidInput,
          message: err?.message ?? 'The batch rejected its input.',
          ...(err?.details ? { details: err.details.slice(0, 50) } : {}),
        };
      if (r.status === 409)
        return {
          ok: false,
          code: JOB_ERROR_CODES.agentBusy,
          message: err?.message ?? 'The agent is running another job.',
        };
      if (r.status === 401 || r.status === 403)
        return {
          ok: false,
          code: JOB_ERROR_CODES.agentUnreachable,
          message: `The agent refused the job token (${r.status}).`,
        };
      throw jobError(JOB_ERROR_CODES.agentUnreachable, `POST /start answered ${r.status}`, true);
    },
    async status(ip, token) {
      try {
        const r = await http.get(`${base(ip)}/status`, { headers: auth(token) });
        if (r.status !== 200 || typeof r.data !== 'object' || r.data === null) return unreachable();
        const d = r.data as Record<string, unknown>;
        const state = STATES.includes(d.state as AgentState) ? (d.state as AgentState) : null;
        return {
          reachable: true,
          state,
          progress: typeof d.progress === 'number' && d.progress >= 0 && d.progress <= 1 ? d.progress : 0,
          message: typeof d.message === 'string' ? d.message.slice(0, 500) : '',
          exitCode: typeof d.exitCode === 'number' ? d.exitCode : null,
          error: errorText(d.error),
        };
      } catch {
        return unreachable();
      }
    },
    async cancel(ip, token) {
      try {
        const r = await http.post(`${base(ip)}/cancel`, {}, { headers: auth(token) });
        return r.status >= 200 && r.status < 300;
      } catch {
        return false;
      }
    },
    async result(ip, token) {
      try {
        const r = await http.get(`${base(ip)}/result`, { headers: auth(token), timeout: 60_000 });
        if (r.status !== 200 || typeof r.data !== 'object' || r.data === null) return undefined;
        const d = r.data as AgentResult;
        return {
          jobId: d.jobId,
          state: d.state,
          result: d.result ?? null,
          artifacts: Array.isArray(d.artifacts) ? d.artifacts : [],
        };
      } catch {
        return undefined;
      }
    },
    async artifact(ip, token, name) {
      try {
        const r = await http.get(`${base(ip)}/artifacts/${encodeURIComponent(name)}`, {
          headers: auth(token),
          responseType: 'arraybuffer',
          timeout: 60_000,
        });
        return r.status === 200 ? Buffer.from(r.data as ArrayBuffer) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
