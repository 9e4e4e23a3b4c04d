// The `aci-batch` command tree (commander): one function per command over the API client. run()
// returns the exit code instead of exiting, so unit tests drive it in-process with fake streams.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { ApiClient, type JobStatus } from './api-client';
import { resolveConnection, type ConnectionFlags, type ReadText } from './config';
import { CliError, EXIT, usageError } from './exit-codes';
import { artifactsTable, formatStatus, formatTenant, jobsTable, type Artifact } from './format';
import { buildJobBody, JOB_ID, type SubmitFlags } from './job-body';
import { followLogs } from './logs';
import { formatTasks, readTasks, type TasksFlags } from './tasks';
import { waitForJob } from './wait';

export interface Stream {
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdout: Stream;
  stderr: Stream;
  env: NodeJS.ProcessEnv;
  /** Reads a file the user named (`-` = standard input). */
  readInput(path: string): string;
  readConfig: ReadText;
  writeFile(path: string, data: Uint8Array): void;
  fetch?: typeof fetch;
  /** Resolves when the user presses Ctrl-C (waits stop, the job goes on). */
  interrupted?: Promise<void>;
}

export function nodeIo(): Io {
  let onInt: () => void = () => undefined;
  const interrupted = new Promise<void>((r) => (onInt = r));
  process.once('SIGINT', () => onInt());
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    readInput: (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
    readConfig: (path) => {
      try {
        return { text: readFileSync(path, 'utf8'), mode: statSync(path).mode };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw usageError(`cannot read the profile file ${path}: ${(e as Error).message}`);
      }
    },
    writeFile: (path, data) => writeFileSync(path, data),
    interrupted,
  };
}

interface GlobalFlags extends ConnectionFlags {
  json?: boolean;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export async function run(argv: string[], io: Io): Promise<number> {
  const out = (s: string) => io.stdout.write(s.endsWith('\n') ? s : s + '\n');
  const err = (s: string) => io.stderr.write(s.endsWith('\n') ? s : s + '\n');
  const program = new Command('aci-batch');
  let code: number = EXIT.ok;
  let jsonMode = argv.includes('--json');

  program
    .description('Submit and follow aci-batch jobs (Azure Container Instances batch controller).')
    .version(readVersion(), '-V, --version')
    .option('--api <url>', 'API base URL, e.g. http://127.0.0.1:7071/api (env ACI_BATCH_API)')
    .option('--key <key>', 'API key (prefer env ACI_BATCH_KEY or a profile: argv is visible to other users)')
    .option('--tenant <tenant>', 'tenant id (env ACI_BATCH_TENANT)')
    .option('--profile <name>', 'profile in ~/.config/aci-batch/config.json (env ACI_BATCH_PROFILE)')
    .option('--json', 'machine-readable output: the API JSON, one document per line')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 job failed/canceled/timed out, 2 usage, 3 API error, 4 auth (401/403), 5 route not available, 130 Ctrl-C.\n' +
        'See cli/README.md.',
    );

  const ctx = (cmd: Command) => {
    const g = cmd.optsWithGlobals<GlobalFlags>();
    jsonMode = !!g.json;
    const conn = resolveConnection(g, io.env, io.readConfig, (w) => err(`warning: ${w}`));
    return { client: new ApiClient(conn, 30_000, io.fetch), json: !!g.json };
  };
  const printJson = (v: unknown) => out(JSON.stringify(v));
  const jobPath = (client: ApiClient, id: string, rest = '') => {
    if (!JOB_ID.test(id))
      throw usageError(`"${id}" is not a job id (j- and 20 lower-case letters/digits, and -N for task N of an array)`);
    return client.tenantPath(`/jobs/${id}${rest}`);
  };

  program
    .command('submit')
    .description('submit a job; with --wait, follow it to the end and exit with its outcome')
    .argument('[command...]', 'the container command, after -- (or use --command JSON)')
    .option('-i, --input <file>', 'JSON file with the batch input (- for standard input)')
    .option('--image <repo:tag>', "ACR repository with tag or digest (default: the tenant's image)")
    .option('--cpu <vcpu>', 'vCPUs')
    .option('--memory <gb>', 'memory in GB')
    .option('-e, --env <NAME=VALUE>', 'environment variable (repeatable)', collect)
    .option('--secure-env <NAME[=VALUE]>', 'secure variable; NAME alone takes its value from your environment', collect)
    .option('--command <json>', 'container command as a JSON array of strings')
    .option('--timeout <minutes>', 'run-time limit in minutes')
    .option('--idempotency-key <key>', 'resubmitting with the same key and body returns the same job')
    .addOption(new Option('--on-complete <policy>', 'what happens to the group').choices(['delete', 'stop', 'keep']))
    .addOption(new Option('--on-failure <policy>', 'on failure').choices(['delete', 'stop', 'restart']))
    .option('--max-attempts <n>', 'attempts with --on-failure restart')
    .option('--priority <p>', 'Regular | Spot (or 0..1000 where the API supports it)')
    .option('--webhook <url>', 'notify.webhookUrl')
    .option('--array <json>', 'job array, e.g. \'{"count": 10, "parallelism": 3}\'')
    .option('--depends-on <id[:condition]>', 'dependency (repeatable); condition succeeded | finished', collect)
    .option('--retry <json>', 'retry rules, e.g. \'{"attempts": 3}\'')
    .option('-w, --wait', 'wait for the end with a progress bar; exit 0 only if the job succeeded')
    .option('--interval <seconds>', 'status poll interval while waiting', '1')
    .option('--wait-timeout <seconds>', 'give up waiting after this long (exit 3; the job goes on)')
    .action(async (command: string[], flags: SubmitFlags & Record<string, unknown>, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const body = buildJobBody(flags, command, { readInput: io.readInput, env: io.env });
      const headers: Record<string, string> = {};
      const key = flags.idempotencyKey as string | undefined;
      if (key !== undefined) headers['idempotency-key'] = key;
      const answer = await client.json<{ id: string; state: string; links?: Record<string, string> }>(
        client.tenantPath('/jobs'),
        { method: 'POST', body, headers },
      );
      if (json) printJson(answer);
      else if (!flags.wait) out(`${answer.id}  ${answer.state}`);
      else err(`submitted ${answer.id}`);
      if (!flags.wait) return;
      code = await waitAndReport(client, answer.id, flags, json);
    });

  program
    .command('wait')
    .description("follow a job to its end with a progress bar; exit with the job's outcome")
    .argument('<id>', 'job id')
    .option('--interval <seconds>', 'status poll interval', '1')
    .option('--wait-timeout <seconds>', 'give up waiting after this long (exit 3; the job goes on)')
    .action(async (id: string, flags: Record<string, unknown>, cmd: Command) => {
      const { client, json } = ctx(cmd);
      jobPath(client, id);
      code = await waitAndReport(client, id, flags, json);
    });

  async function waitAndReport(
    client: ApiClient,
    id: string,
    flags: Record<string, unknown>,
    json: boolean,
  ): Promise<number> {
    const intervalS = Number(flags.interval ?? 1);
    if (!(intervalS > 0)) throw usageError(`--interval: "${String(flags.interval)}" must be a positive number`);
    const limitS = flags.waitTimeout === undefined ? undefined : Number(flags.waitTimeout);
    if (limitS !== undefined && !(limitS > 0))
      throw usageError(`--wait-timeout: "${String(flags.waitTimeout)}" must be a positive number of seconds`);
    const final = await waitForJob(client, id, {
      intervalMs: intervalS * 1000,
      timeoutMs: limitS === undefined ? undefined : limitS * 1000,
      json,
      stdout: io.stdout,
      stderr: io.stderr,
      interrupted: io.interrupted,
    });
    if (final === 'interrupted') {
      err(`stopped waiting; ${id} goes on: aci-batch status ${id} | aci-batch cancel ${id}`);
      return EXIT.interrupted;
    }
    if (!json) {
      out(`${final.id} ${final.state}${final.error ? `: ${final.error.code}: ${final.error.message}` : ''}`);
      for (const d of final.error?.details ?? []) out(`  - ${d.field}: ${d.message}`);
      if (final.state === 'succeeded') out(`result: aci-batch result ${final.id}`);
    }
    return final.state === 'succeeded' ? EXIT.ok : EXIT.jobNotSucceeded;
  }

  program
    .command('status')
    .description("a job's status")
    .argument('<id>', 'job id')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const s = await client.json<JobStatus>(jobPath(client, id));
      if (json) printJson(s);
      else out(formatStatus(s));
    });

  program
    .command('list')
    .description("the tenant's jobs, newest first")
    .option('--state <state>', 'only jobs in this state')
    .option('--since <iso>', 'only jobs created since this ISO 8601 time')
    .option('--limit <n>', 'page size (1-200)', '50')
    .option('--all', 'follow continuation tokens to the end')
    .option('--continuation-token <token>', 'the page after this token')
    .option('--include-tasks', "also list job arrays' tasks (by default only under their parent: see tasks)")
    .action(async (flags: Record<string, string | boolean | undefined>, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const jobs: JobStatus[] = [];
      let token = flags.continuationToken as string | undefined;
      for (;;) {
        const page = await client.json<{ jobs: JobStatus[]; continuationToken: string | null }>(
          client.tenantPath('/jobs'),
          {
            query: {
              state: flags.state as string | undefined,
              since: flags.since as string | undefined,
              limit: flags.limit as string,
              continuationToken: token,
              includeTasks: flags.includeTasks ? 'true' : undefined,
            },
          },
        );
        if (json && !flags.all) {
          printJson(page);
          return;
        }
        jobs.push(...page.jobs);
        token = page.continuationToken ?? undefined;
        if (!flags.all || !token) break;
      }
      if (json) printJson({ jobs, continuationToken: null });
      else if (jobs.length === 0) out('no jobs');
      else {
        out(jobsTable(jobs, io.stdout.columns ?? 160));
        if (token) out(`more: aci-batch list --continuation-token ${token}`);
      }
    });

  program
    .command('tasks')
    .description("a job array's tasks by index, and the array's tally (tasks not started yet are counted)")
    .argument('<id>', "the array's (parent's) job id")
    .option('--state <state>', 'only tasks in this state')
    .option('--limit <n>', 'page size (1-200)', '50')
    .option('--all', 'follow continuation tokens to the end')
    .option('--continuation-token <token>', 'the page after this token')
    .action(async (id: string, flags: TasksFlags, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const path = jobPath(client, id, '/tasks');
      if (!/^\d+$/.test(flags.limit)) throw usageError(`--limit: "${flags.limit}" must be a whole number (1-200)`);
      const page = await readTasks(client, path, flags, json && !flags.all ? printJson : undefined);
      if (json && flags.all) printJson({ ...page, continuationToken: null });
      else if (!json) out(formatTasks(page));
    });

  program
    .command('logs')
    .description("the job's container log; -f follows it until the job ends")
    .argument('<id>', 'job id')
    .option('-f, --follow', 'keep printing new log text until the job ends')
    .option('--tail <n>', 'only the last n lines (where the API supports it)')
    .option('--interval <seconds>', 'poll interval while following', '1')
    .action(async (id: string, flags: { follow?: boolean; tail?: string; interval: string }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const path = jobPath(client, id, '/logs');
      if (flags.tail !== undefined && !/^\d+$/.test(flags.tail))
        throw usageError(`--tail: "${flags.tail}" must be a whole number of lines`);
      if (!flags.follow) {
        const res = await client.request(path, { query: { tail: flags.tail }, headers: { accept: 'text/plain' } });
        const text = await res.text();
        if (json) printJson({ id, logs: text });
        else io.stdout.write(text);
        return;
      }
      const interval = Number(flags.interval);
      if (!(interval > 0)) throw usageError(`--interval: "${flags.interval}" must be a positive number`);
      const end = await followLogs(client, id, path, {
        tail: flags.tail,
        intervalMs: interval * 1000,
        write: (t) => (json ? printJson({ id, text: t }) : io.stdout.write(t)),
        interrupted: io.interrupted,
      });
      if (end === 'interrupted') code = EXIT.interrupted;
      else if (json) printJson(end);
      else err(`-- ${id} ended ${end.state}`);
    });

  program
    .command('cancel')
    .description('cancel a job (its container group is deleted)')
    .argument('<id>', 'job id')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.json<{ id: string; state: string }>(jobPath(client, id, '/cancel'), { method: 'POST' });
      if (json) printJson(r);
      else out(`cancel requested for ${r.id} (was ${r.state})`);
    });

  program
    .command('result')
    .description("the batch's result JSON (for the default model: the fit)")
    .argument('<id>', 'job id')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.json<unknown>(jobPath(client, id, '/result'));
      out(json ? JSON.stringify(r) : JSON.stringify(r, null, 2));
    });

  const artifacts = program
    .command('artifacts')
    .description("a finished job's artifacts (result.json, chart.svg, logs…): list, or get one");
  artifacts
    .command('list', { isDefault: true })
    .description('list the artifacts (the default)')
    .argument('<id>', 'job id')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const r = await client.json<unknown>(jobPath(client, id, '/artifacts'), { feature: 'artifacts' });
      if (json) {
        printJson(r);
        return;
      }
      const items = artifactItems(r);
      out(items.length ? artifactsTable(items) : 'no artifacts');
    });
  artifacts
    .command('get')
    .description('download one artifact (to ./NAME, or -o FILE, or -o - for standard output)')
    .argument('<id>', 'job id')
    .argument('<name>', 'artifact name, e.g. chart.svg')
    .option('-o, --output <file>', 'where to write it')
    .action(async (id: string, name: string, flags: { output?: string }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      if (!/^[A-Za-z0-9._-][A-Za-z0-9._/-]*$/.test(name) || name.split('/').includes('..'))
        throw usageError(`"${name}" is not an artifact name (letters, digits, . _ - /; no ..)`);
      const path = jobPath(client, id, `/artifacts/${name.split('/').map(encodeURIComponent).join('/')}`);
      const res = await client.request(path, { headers: { accept: '*/*' }, feature: 'artifacts' });
      const data = new Uint8Array(await res.arrayBuffer());
      const target = flags.output ?? basename(name);
      if (target === '-') io.stdout.write(data);
      else io.writeFile(target, data);
      const info = { id, name, bytes: data.byteLength, contentType: res.headers.get('content-type'), file: target };
      if (json) {
        if (target !== '-') printJson(info);
      } else if (target !== '-')
        out(`wrote ${target} (${data.byteLength} bytes, ${info.contentType ?? 'unknown type'})`);
    });

  program
    .command('tenant')
    .description("the tenant's limits, running and queued jobs, usage")
    .action(async (_flags: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const t = await client.json<Record<string, unknown>>(client.tenantPath(''));
      if (json) printJson(t);
      else out(formatTenant(t));
    });

  program
    .command('config')
    .description('show where the API, key and tenant come from (the key is masked)')
    .action((_flags: unknown, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const c = client.conn;
      const view = {
        api: c.api,
        tenant: c.tenant,
        key: `${c.key.slice(0, 3)}…(${c.key.length} chars)`,
        sources: c.sources,
      };
      if (json) printJson(view);
      else
        out(
          Object.entries({ ...view, sources: JSON.stringify(c.sources) })
            .map(([k, v]) => `${k}: ${v}`)
            .join('\n'),
        );
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return EXIT.ok;
      return EXIT.usage; // commander already printed the message and the hint
    }
    if (e instanceof CliError) {
      if (jsonMode)
        err(
          JSON.stringify({
            error: e.apiError ?? { code: e.exitCode === EXIT.usage ? 'UsageError' : 'CliError', message: e.message },
            ...(e.details.length ? { problems: e.details } : {}),
            exitCode: e.exitCode,
          }),
        );
      else {
        err(`aci-batch: ${e.message}`);
        for (const d of e.details) err(`  - ${d}`);
      }
      return e.exitCode;
    }
    err(`aci-batch: unexpected error: ${(e as Error).stack ?? String(e)}`);
    return EXIT.api;
  }
}

/** The list answer's items, whatever the envelope (`artifacts`, `items`, `value` or a bare array). */
export function artifactItems(r: unknown): Artifact[] {
  const list = Array.isArray(r)
    ? r
    : ((r as Record<string, unknown>)?.artifacts ??
      (r as Record<string, unknown>)?.items ??
      (r as Record<string, unknown>)?.value);
  if (!Array.isArray(list)) return [];
  return list.map((a: unknown) => (typeof a === 'string' ? { name: a } : (a as Artifact)));
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(`${__dirname}/../package.json`, 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
