// Lint: typescript-eslint's recommended rules everywhere, plus the determinism rules for
// orchestrators (style.md practice 1): workflows/ may import contracts only and may not touch
// the clock, randomness, timers, the environment or any Node/Azure module.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', '.data/**', 'bench/.tmp/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['orchestration/src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'crypto', 'http', 'https', 'child_process', 'timers'],
              message: 'Orchestrators are deterministic: no Node builtins.',
            },
            { group: ['@azure/*', 'axios', 'pino'], message: 'Orchestrators do no I/O: call an activity.' },
            {
              group: ['../activities/*', '../azure/*', '../agent/*', '../api/*', '../tenants/*', '../config'],
              message: 'workflows/ import contracts only.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use context.df.currentUtcDateTime.' },
        { object: 'Math', property: 'random', message: 'Orchestrators are deterministic.' },
        { object: 'process', property: 'env', message: 'Pass settings in the orchestration input.' },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'fetch', 'process'],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'NewExpression[callee.name="Date"][arguments.length=0]',
          message: 'Use context.df.currentUtcDateTime.',
        },
      ],
    },
  },
  // local/ boundaries: local/README.md's "may import" table, enforced. A separate rule name
  // (@typescript-eslint/no-restricted-imports) so these never override the orchestrator rules above.
  ...(() => {
    const rule = (...patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });
    const noOrchestration = {
      regex: '(^|/)orchestration(/|$)',
      message:
        'local/ never imports orchestration/: the host loads the app from its folder, the emulator speaks Azure protocols.',
    };
    return [
      {
        files: ['local/functions-host/**/*.ts'],
        rules: rule(
          {
            regex: '(^|/)(azure-emulator|stack|batch-image)(/|$)',
            message: 'functions-host/ may import Node, better-sqlite3, pino and local/kit only (local/README.md).',
          },
          noOrchestration,
        ),
      },
      {
        files: ['local/azure-emulator/**/*.ts'],
        rules: rule(
          {
            regex: '(^|/)(functions-host|stack|batch-image)(/|$)',
            message: 'azure-emulator/ may import Node, node-forge, pino and local/kit only (local/README.md).',
          },
          noOrchestration,
        ),
      },
      {
        files: ['local/stack/**/*.ts'],
        rules: rule(
          {
            regex: '(^|/)functions-host(/|$)',
            message: 'stack/ starts the functions host through its CLI (a child process), never in process.',
          },
          {
            regex: '(^|/)azure-emulator/(?!image-catalog$)',
            message:
              'stack/ starts the emulator through its CLI; it imports only its ready-line type (index) and image-catalog.',
          },
          {
            regex: '(^|/)batch-image/(?!src/model/rng$)',
            message: 'stack/ imports only batch-image/src/model/rng (the demo data generator).',
          },
          noOrchestration,
        ),
      },
      {
        files: ['local/kit/**/*.ts'],
        rules: rule({
          regex: '^(?!node:|\\./)',
          message: 'local/kit imports Node builtins and its own files only, so that every part of local/ may use it.',
        }),
      },
      {
        files: ['orchestration/**/*.ts'],
        rules: rule({
          regex: '(^|/)local(/|$)',
          message: 'orchestration/ never imports local/: it runs unmodified in Azure.',
        }),
      },
    ];
  })(),
  // orchestration/src boundaries: orchestration/README.md's "may import" table, enforced (ports and
  // adapters: adapters never reach the HTTP layer; the API never reaches an adapter; contracts are
  // pure). Each block repeats the "never local/" rule, as a later block for the same files wins.
  ...(() => {
    const noLocal = { regex: '(^|/)local(/|$)', message: 'orchestration/ never imports local/.' };
    const layer = (folder, forbidden, why) => ({
      files: [`orchestration/src/${folder}`],
      rules: {
        '@typescript-eslint/no-restricted-imports': [
          'error',
          { patterns: [{ regex: `^\\.\\./(${forbidden.join('|')})(/|$)`, message: why }, noLocal] },
        ],
      },
    });
    return [
      layer('contracts/**/*.ts', ['[a-z-]+'], 'contracts/ are pure: they import only each other.'),
      layer(
        '{azure,agent,durable}/**/*.ts',
        ['api', 'activities', 'workflows', 'sweeper', 'app', 'functions'],
        'Adapters implement ports (ports.ts) and may import contracts, errors and logging, never the layers above.',
      ),
      layer(
        'admission/**/*.ts',
        ['api', 'activities', 'workflows', 'sweeper', 'azure', 'agent', 'durable', 'app', 'functions'],
        'admission/ owns the ledger over the LedgerStore port; it knows no adapter or caller.',
      ),
      layer(
        'activities/**/*.ts',
        ['api', 'workflows', 'sweeper', 'azure', 'agent', 'durable', 'app', 'functions'],
        'Activities work over ports (ports.ts), never adapters or the HTTP layer.',
      ),
      layer(
        'api/**/*.ts',
        ['activities', 'workflows', 'sweeper', 'azure', 'agent', 'durable', 'app', 'functions'],
        'The HTTP layer works over ports (ports.ts) and the admission service, never adapters or activities.',
      ),
      layer(
        'sweeper/**/*.ts',
        ['api', 'activities', 'workflows', 'azure', 'agent', 'durable', 'app', 'functions'],
        'The sweeper works over ports and the admission service.',
      ),
      layer(
        '{tenants,security}/**/*.ts',
        ['api', 'activities', 'workflows', 'sweeper', 'azure', 'agent', 'durable', 'admission', 'app', 'functions'],
        'tenants/ and security/ are leaf modules.',
      ),
    ];
  })(),
);
