// The Function App's entry point (package.json "main"): reads the settings and the tenants file
// (failing fast, naming the field), builds the production adapters once (Azure SDKs with the
// managed identity) and hands them to createApp, which registers everything. Thin on purpose: the
// fast replay tier builds the same app over in-memory ports.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createAgentClient } from './agent/client';
import { createApp } from './app';
import { createArmContainerGroups } from './azure/aci';
import { createAcrResolver } from './azure/acr';
import { createBlobLedger, createBlobResults, createBlobService } from './azure/blob';
import { parseOperatorKeyHash } from './api/operator-auth';
import { parseResultLinks } from './api/result-links';
import { createCredential } from './azure/credentials';
import { loadConfig, workflowSettings } from './config';
import { createLogger } from './logging';
import { loadTenantsFile } from './tenants/loader';

const appRoot = resolve(__dirname, '..', '..');
const version = (JSON.parse(readFileSync(resolve(appRoot, 'package.json'), 'utf8')) as { version: string }).version;

const cfg = loadConfig();
const log = createLogger(cfg.logLevel);
const tenants = loadTenantsFile(resolve(appRoot, cfg.tenantsFile));
log.info({ tenants: tenants.tenants.map((t) => t.id), version }, 'aci-batch starting');
for (const warning of tenants.warnings ?? []) log.warn({ file: cfg.tenantsFile }, warning);

const credential = createCredential(cfg.controllerClientId);
const blobService = createBlobService(credential, cfg.resultsBlobEndpoint);
const container = blobService.getContainerClient(cfg.resultsContainer);

createApp({
  version,
  log,
  tenants,
  groups: createArmContainerGroups(credential, {
    endpoint: cfg.armEndpoint,
    subscriptionId: cfg.subscriptionId,
    resourceGroup: cfg.jobsResourceGroup,
  }),
  images: createAcrResolver(credential, cfg.acrLoginServer),
  agent: createAgentClient({ port: cfg.agentPort }),
  results: createBlobResults(container, blobService),
  ledger: createBlobLedger(container),
  settings: workflowSettings(cfg),
  globalLimits: {
    maxCores: cfg.globalMaxCores,
    maxGroups: cfg.globalMaxGroups,
    maxCreatesPer5Min: cfg.globalMaxCreatesPer5Min,
    fairShareHalfLifeMinutes: cfg.fairShareHalfLifeMinutes,
  },
  signingKey: cfg.callbackSigningKey,
  callbackBaseUrl: cfg.callbackBaseUrl,
  acrLoginServer: cfg.acrLoginServer,
  jobIdentityResourceId: cfg.jobIdentityResourceId,
  agentPort: cfg.agentPort,
  defaultLocation: cfg.jobsLocation,
  maxRequestBytes: cfg.maxRequestBytes,
  sweeperSchedule: cfg.sweeperSchedule,
  livenessWatchSchedule: cfg.livenessWatchSchedule,
  now: () => new Date(),
  operatorKeyHash: parseOperatorKeyHash(cfg.operatorKeyHash),
  resultLinks: parseResultLinks(cfg.resultLinks),
});
