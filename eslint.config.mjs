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
);
