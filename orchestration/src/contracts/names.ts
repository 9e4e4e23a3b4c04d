// Function, activity and event names. Orchestration history stores these names: renaming one is a
// versioning event (in-flight instances would no longer replay).

/** Orchestrator function names. */
export const ORCHESTRATORS = {
  job: 'JobOrchestrator',
} as const;

/** Activity function names (one side effect each; see activities/). */
export const ACTIVITIES = {
  acquireSlot: 'AcquireSlot',
  releaseSlot: 'ReleaseSlot',
  resolveImage: 'ResolveImage',
  createGroup: 'CreateContainerGroup',
  getGroup: 'GetContainerGroup',
  checkAgentHealth: 'CheckAgentHealth',
  startAgent: 'StartAgent',
  observeJob: 'ObserveJob',
  cancelAgent: 'CancelAgent',
  restartGroup: 'RestartContainerGroup',
  archiveLogs: 'ArchiveLogs',
  archiveResult: 'ArchiveResult',
  /** Result and logs in one call (teardown); the two above remain for a part that failed, and restarts. */
  archiveJob: 'ArchiveJob',
  deleteGroup: 'DeleteContainerGroup',
  stopGroup: 'StopContainerGroup',
  notifyWebhook: 'NotifyWebhook',
  prepareTasks: 'PrepareTasks',
  cancelJobs: 'CancelJobs',
  completeArray: 'CompleteArray',
  /** A waiting job's dependencies: which ended, and how (activities/dependencies.ts). */
  checkDependencies: 'CheckDependencies',
} as const;
export type ActivityName = (typeof ACTIVITIES)[keyof typeof ACTIVITIES];

/** External events raised on a job's orchestration instance. */
export const EVENTS = {
  /** Raised by POST /api/callbacks/tenants/{tenant}/jobs/{id}; payload = AgentCallback. Wakes the monitor up. */
  callback: 'AgentCallback',
  /** Raised by POST /api/tenants/{t}/jobs/{id}/cancel; payload = {requestedAt}. */
  cancel: 'CancelRequested',
  /** Raised on a queued job when whatever freed capacity granted it a slot (admission/service.ts). */
  slotGranted: 'SlotGranted',
  /** Raised by the agent's `ready` callback once it listens: the job can start at once. */
  ready: 'AgentReady',
  /** Raised on a job by each of its dependencies when it ends; payload = DependencyEnded. */
  dependencyEnded: 'DependencyEnded',
} as const;
