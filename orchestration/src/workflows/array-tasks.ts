// A job array's tasks as the parent derives them (pure): each task is a job of its own — its own
// instance, container group and blobs — sized like the parent, with ACI_BATCH_TASK_INDEX and
// ACI_BATCH_TASK_COUNT in its environment and, with array.inputs, its own input blob.
import {
  blobNames,
  groupNameOf,
  instanceIdOf,
  TASK_STATE_CODES,
  taskJobIdOf,
  zeroCounts,
  type ArrayCounts,
  type JobInput,
} from '../contracts';

/** The first generation's input of task `index` of the array `parent`. */
export function taskInput(parent: JobInput, index: number, nowIso: string): JobInput {
  const { array, dependsOn: _dependsOn, webhookUrl: _webhookUrl, ...spec } = parent.spec;
  if (!array) throw new Error('taskInput: the parent is not an array');
  const jobId = taskJobIdOf(parent.jobId, index);
  return {
    ...parent,
    jobId,
    instanceId: instanceIdOf(parent.tenant, jobId),
    groupName: groupNameOf(parent.tenant, jobId),
    createdAt: nowIso,
    task: { parent: parent.jobId, index, count: array.count },
    spec: {
      ...spec,
      // The parent notifies once for the array (its webhook); a task does not.
      env: { ...spec.env, ACI_BATCH_TASK_INDEX: String(index), ACI_BATCH_TASK_COUNT: String(array.count) },
      ...(spec.sealedSecureEnv ? { sealedFor: spec.sealedFor ?? parent.jobId } : {}),
      ...(array.inputsBlob ? { inputBlob: blobNames(parent.tenant, jobId).input } : {}),
    },
  };
}

/** The parent's counts from its per-task state codes: tasks not ended yet count as queued. */
export function countsOf(states: string): ArrayCounts {
  const counts = zeroCounts();
  for (const code of states) counts[TASK_STATE_CODES[code] ?? 'queued'] += 1;
  return counts;
}
