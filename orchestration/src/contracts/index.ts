// The contracts shared by the HTTP API, the orchestrator, the activities and the sweeper — pure,
// importing nothing outside this folder, because workflows/ may import nothing else. One concept
// per file: names, routes, the job and its status, errors, settings, the activity seam, the status
// envelope the API reads.
export * from './names';
export * from './routes';
export * from './job';
export * from './job-errors';
export * from './retry';
export * from './settings';
export * from './activities';
export * from './envelope';
export * from './result-links';
export * from './fanout';
