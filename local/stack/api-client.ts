// A minimal client of the Function App's HTTP API (design.md), as a platform team would write one:
// plain HTTP and JSON, the tenant's API key as a bearer token. Used by the demo, the integration
// tests and the benchmark; it knows the API, not the app's code.
import { requestJson, type JsonResponse } from './http-json';

export interface JobStatusView {
  id: string;
  tenant: string;
  state: string;
  phase: string;
  progress: number;
  message: string;
  attempts: number;
  maxAttempts?: number;
  image: { ref: string; digest: string | null };
  resources: { cpu: number; memoryGb: number };
  container: { name: string; state: string; exitCode: number | null; ip: string | null };
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  usage: { vcpuSeconds: number; gbSeconds: number; estimatedCost: number; currency?: string };
  result: { urls: Record<string, string> } | null;
  error: { code: string; message: string } | null;
  links?: Record<string, string>;
}

export interface SubmitAnswer {
  id: string;
  state: string;
  links: { self: string; cancel: string; logs: string; result: string };
}

export const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out'];

export class ApiClient {
  constructor(
    readonly apiBaseUrl: string,
    readonly tenant: string,
    readonly apiKey: string,
    /** Per-request deadline. */
    readonly timeoutMs = 15_000,
  ) {}

  private url(path: string): string {
    return `${this.apiBaseUrl.replace(/\/+$/, '')}/tenants/${encodeURIComponent(this.tenant)}${path}`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}`, ...extra };
  }

  submit(body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<SubmitAnswer>> {
    return requestJson<SubmitAnswer>(this.url('/jobs'), {
      method: 'POST',
      body,
      headers: this.headers(headers),
      timeoutMs: this.timeoutMs,
    });
  }

  /** Submits and insists on 202 (the error body is in the exception). */
  async submitOk(body: unknown): Promise<SubmitAnswer> {
    const r = await this.submit(body);
    if (r.status !== 202) throw new Error(`submit for ${this.tenant} answered ${r.status}: ${r.text.slice(0, 1000)}`);
    return r.body;
  }

  get(id: string): Promise<JsonResponse<JobStatusView>> {
    return requestJson<JobStatusView>(this.url(`/jobs/${encodeURIComponent(id)}`), {
      headers: this.headers(),
      timeoutMs: this.timeoutMs,
    });
  }

  async status(id: string): Promise<JobStatusView> {
    const r = await this.get(id);
    if (r.status !== 200)
      throw new Error(`GET job ${id} (${this.tenant}) answered ${r.status}: ${r.text.slice(0, 500)}`);
    return r.body;
  }

  list(query = ''): Promise<
    JsonResponse<{
      jobs?: JobStatusView[];
      items?: JobStatusView[];
      value?: JobStatusView[];
      continuationToken?: string;
    }>
  > {
    return requestJson(this.url(`/jobs${query ? '?' + query : ''}`), {
      headers: this.headers(),
      timeoutMs: this.timeoutMs,
    });
  }

  cancel(id: string): Promise<JsonResponse> {
    return requestJson(this.url(`/jobs/${encodeURIComponent(id)}/cancel`), {
      method: 'POST',
      headers: this.headers(),
      timeoutMs: this.timeoutMs,
    });
  }

  logs(id: string): Promise<JsonResponse> {
    return requestJson(this.url(`/jobs/${encodeURIComponent(id)}/logs`), {
      headers: this.headers({ accept: 'text/plain, application/json' }),
      timeoutMs: this.timeoutMs,
    });
  }

  result(id: string): Promise<JsonResponse> {
    return requestJson(this.url(`/jobs/${encodeURIComponent(id)}/result`), {
      headers: this.headers(),
      timeoutMs: this.timeoutMs,
    });
  }

  tenantInfo(): Promise<JsonResponse> {
    return requestJson(this.url(''), { headers: this.headers(), timeoutMs: this.timeoutMs });
  }

  /**
   * Polls until the job is in a terminal state; `onChange` sees every new (state, phase, progress).
   * Throws after `timeoutMs` with the last status seen.
   */
  async waitForEnd(
    id: string,
    timeoutMs: number,
    onChange?: (s: JobStatusView) => void,
    intervalMs = 250,
  ): Promise<JobStatusView> {
    const end = Date.now() + timeoutMs;
    let last: JobStatusView | undefined;
    let lastKey = '';
    for (;;) {
      const r = await this.get(id).catch(
        (err: Error) => ({ status: 0, text: err.message }) as JsonResponse<JobStatusView>,
      );
      if (r.status === 200) {
        last = r.body;
        const key = `${last.state}|${last.phase}|${last.progress}|${last.message}`;
        if (key !== lastKey) {
          lastKey = key;
          onChange?.(last);
        }
        if (TERMINAL.includes(last.state)) return last;
      }
      if (Date.now() >= end) {
        throw new Error(
          `job ${this.tenant}/${id} did not finish within ${Math.round(timeoutMs / 1000)} s; last status: ${last ? JSON.stringify(last) : `${r.status} ${r.text.slice(0, 300)}`}`,
        );
      }
      await new Promise((res) => setTimeout(res, intervalMs));
    }
  }
}
