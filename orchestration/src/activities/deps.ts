// What the activities are built over: ports and settings, injected by the app's wiring.
import type { Admission } from '../admission/service';
import type { Logger } from '../logging';
import type { AgentClient, ContainerGroups, ImageResolver, ResultsStore } from '../ports';
import type { TenantDirectory } from '../tenants/types';

export interface ActivityDeps {
  groups: ContainerGroups;
  images: ImageResolver;
  agent: AgentClient;
  results: ResultsStore;
  admission: Admission;
  tenants: TenantDirectory;
  log: Logger;
  now(): Date;
  signingKey: string;
  callbackBaseUrl: string;
  acrLoginServer: string;
  jobIdentityResourceId: string;
  agentPort: number;
  /** Max bytes of one archived artifact. */
  maxArtifactBytes?: number;
}
