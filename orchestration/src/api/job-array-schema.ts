// The job status's fan-out parts (issue 13) as JSON Schema: a task's `parent` and `index`, an array
// parent's `array` and a job's `dependsOn` (contracts/job.ts JobStatus). Spread into JOB_STATUS_SCHEMA,
// so the OpenAPI document describes what GET …/jobs/{id} answers.
import { JOB_STATES } from '../contracts';

const stateCounts = {
  type: 'object',
  required: [...JOB_STATES],
  properties: Object.fromEntries(JOB_STATES.map((s) => [s, { type: 'integer', minimum: 0 }])),
} as const;

export const FANOUT_STATUS_PROPERTIES = {
  parent: { type: 'string', description: "A task of a job array: the parent's job id." },
  index: { type: 'integer', minimum: 0, description: 'A task of a job array: its index (ACI_BATCH_TASK_INDEX).' },
  array: {
    type: 'object',
    description:
      "A job array's parent. While it runs, `counts` and `progress` come from its tasks' own states (tasks not started yet count as queued); once it ended, from its final tally.",
    required: ['count', 'parallelism', 'counts'],
    properties: {
      count: { type: 'integer', minimum: 1 },
      parallelism: { type: 'integer', minimum: 1 },
      counts: stateCounts,
      selected: {
        type: ['object', 'null'],
        description: 'With select "best": the chosen task, once the array ended.',
        properties: { id: { type: 'string' }, index: { type: 'integer' }, logLikelihood: { type: 'number' } },
      },
    },
  },
  dependsOn: {
    type: 'array',
    description: 'The jobs this job waits for, and the state each ended in (null until it ends).',
    items: {
      type: 'object',
      required: ['job', 'condition', 'state'],
      properties: {
        job: { type: 'string' },
        condition: { enum: ['succeeded', 'finished'] },
        state: { enum: [...JOB_STATES, null] },
      },
    },
  },
} as const;
