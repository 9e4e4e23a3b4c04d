// What the job routes are built over: ports, the admission service and settings.
import type { WorkflowSettings } from '../contracts';
import type { Admission } from '../admission/service';
import type { Logger } from '../logging';
import type { ResultsStore } from '../ports';
import type { TenantDirectory } from '../tenants/types';
import type { ResultLinkMode } from './result-links';

export interface JobsApiDeps {
  tenants: TenantDirectory;
  log: Logger;
  admission: Admission;
  results: ResultsStore;
  /** Live logs of a group that still exists (the archived copy is used after teardown). */
  liveLogs(groupName: string): Promise<string | undefined>;
  settings: WorkflowSettings;
  acrLoginServer: string;
  signingKey: string;
  defaultLocation: string;
  maxBodyBytes: number;
  globalMaxCores: number;
  now(): Date;
  /** RESULT_LINKS: how result.urls are given (default api). */
  resultLinks?: ResultLinkMode;
  /** How long one `logs?follow=true` request waits for new text (default 20 s). */
  logFollowWaitMs?: number;
}
