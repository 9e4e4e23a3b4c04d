// aci-batch: everything the controller needs in Azure, in two resource groups.
//   rg-<name>       the control plane: Function App (Flex Consumption), storage, App Insights,
//                   ACR, Key Vault, the controller and job identities
//   rg-<name>-jobs  only the per-job container groups (and, with enableVnet, the VNet they join).
//                   The controller's container-group rights stop at this resource group.
// Deploy: see README.md in this folder (az deployment sub create … --parameters main.bicepparam).
targetScope = 'subscription'

@description('Short name every resource name is derived from: lowercase letters and digits (3-11).')
@minLength(3)
@maxLength(11)
param name string

@description('Region of the control plane. It must offer Flex Consumption; with enableVnet it is also the region of the job container groups.')
param location string

@description('Default region for job container groups (JOBS_LOCATION). With enableVnet it must equal location: a container group can only join a VNet in its own region.')
param jobsLocation string = location

@description('Name of the control-plane resource group.')
param appResourceGroupName string = 'rg-${name}'

@description('Name of the jobs resource group: the only place the controller may create, start, stop and delete container groups.')
param jobsResourceGroupName string = 'rg-${name}-jobs'

@description('Secret (at least 32 characters) under which per-job callback tokens are HMAC-signed; stored in Key Vault, never in an app setting. Generate one with: openssl rand -base64 48')
@secure()
@minLength(32)
param callbackSigningKey string

@description('Inject job container groups into a VNet (private IPs only) and integrate the Function App with it, so the controller reaches the batch agent privately.')
param enableVnet bool = true

@description('Address space of the VNet (enableVnet): a /24 for Functions integration and a /24 for container groups are carved from it.')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('Registry SKU. Basic is enough for a few images; Standard/Premium for more storage and throughput.')
@allowed(['Basic', 'Standard', 'Premium'])
param acrSku string = 'Basic'

@description('Upper bound on Function App instances (Flex Consumption scales out per function group).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each Function App instance in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('App setting RESULTS_CONTAINER: the blob container for job logs and results.')
param resultsContainerName string = 'job-results'

@description('App setting AGENT_PORT: port of the batch agent inside job containers (also the one port the ACI subnet\'s NSG opens to the Functions subnet).')
param agentPort int = 8080

@description('Overrides of the tunable app settings, keyed by app-setting name (the settings table in the root README), e.g. { LOG_LEVEL: \'debug\', GLOBAL_MAX_CORES: \'40\' }. Settings left out get the code\'s default, written out explicitly by modules/function-app.bicep.')
param tuning object = {}

@description('Tags applied to both resource groups and every resource.')
param tags object = {}

@description('Durable Functions backend. \'dts\': a Durable Task Scheduler (Consumption SKU) and task hub, reached with the controller identity (Durable Task Data Contributor on the task hub only). \'azureStorage\': the task hub in the storage account (queues, tables, blobs). See bicep/README.md for when to pick which.')
@allowed(['dts', 'azureStorage'])
param durableBackend string = 'dts'

@description('Tenants with their own job identity, by tenant id (the tenants file\'s id), each with the ACR repositories its jobs may pull (normally its allowedRepositories; an entry ending in \'/\' is a prefix). Put each identity\'s resource id (output TENANT_JOB_IDENTITY_RESOURCE_IDS) in that tenant\'s jobIdentityResourceId. Tenants not listed use the shared job identity, which may pull no repository listed here.')
param tenantRepositories { *: string[] } = {}

// Globally unique names (storage, registry, Key Vault, the app's host name) get a stable suffix.
var suffix = take(uniqueString(subscription().id, name, location), 6)
// Storage account and registry names allow lowercase letters and digits only.
var compactName = toLower(replace(name, '-', ''))
var allTags = union(tags, { app: 'aci-batch', 'aci-batch-name': name })
var tenantIds = map(items(tenantRepositories), t => t.key)
// Must equal extensions.durableTask.hubName in orchestration/host.json (checked by config-contract.test.ts).
var taskHubName = 'AciBatchHub'

resource appRg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: appResourceGroupName
  location: location
  tags: allTags
}

resource jobsRg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: jobsResourceGroupName
  location: jobsLocation
  tags: allTags
}

module identities 'modules/identities.bicep' = {
  name: 'identities'
  scope: appRg
  params: {
    name: name
    location: location
    tags: allTags
    tenantIds: tenantIds
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: appRg
  params: {
    name: name
    location: location
    tags: allTags
    controllerPrincipalId: identities.outputs.controllerPrincipalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: appRg
  params: {
    accountName: 'st${compactName}${suffix}'
    location: location
    tags: allTags
    resultsContainerName: resultsContainerName
    controllerPrincipalId: identities.outputs.controllerPrincipalId
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: appRg
  params: {
    registryName: 'cr${compactName}${suffix}'
    location: location
    tags: allTags
    sku: acrSku
    jobIdentityPrincipalId: identities.outputs.jobPrincipalId
    controllerPrincipalId: identities.outputs.controllerPrincipalId
    tenantJobs: [
      for (tenant, i) in tenantIds: {
        tenant: tenant
        principalId: identities.outputs.tenantJobPrincipalIds[i]
        repositories: tenantRepositories[tenant]
      }
    ]
  }
}

module durable 'modules/durable.bicep' = {
  name: 'durable'
  scope: appRg
  params: {
    enabled: durableBackend == 'dts'
    schedulerName: 'dts-${name}-${suffix}'
    taskHubName: taskHubName
    location: location
    tags: allTags
    controllerPrincipalId: identities.outputs.controllerPrincipalId
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'keyVault'
  scope: appRg
  params: {
    vaultName: 'kv-${name}-${suffix}'
    location: location
    tags: allTags
    callbackSigningKey: callbackSigningKey
    controllerPrincipalId: identities.outputs.controllerPrincipalId
  }
}

module jobs 'modules/jobs.bicep' = {
  name: 'jobs'
  scope: jobsRg
  params: {
    name: name
    location: jobsLocation
    tags: allTags
    controllerPrincipalId: identities.outputs.controllerPrincipalId
    enableVnet: enableVnet
    vnetAddressPrefix: vnetAddressPrefix
    agentPort: agentPort
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'functionApp'
  scope: appRg
  params: {
    appName: 'func-${name}-${suffix}'
    location: location
    tags: allTags
    controllerIdentityId: identities.outputs.controllerId
    controllerClientId: identities.outputs.controllerClientId
    storageAccountName: storage.outputs.accountName
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsConnectionString: monitoring.outputs.connectionString
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    integrationSubnetId: jobs.outputs.functionsSubnetId
    subscriptionId: subscription().subscriptionId
    jobsResourceGroupName: jobsRg.name
    jobsLocation: jobsLocation
    jobIdentityResourceId: identities.outputs.jobId
    acrLoginServer: registry.outputs.loginServer
    resultsBlobEndpoint: storage.outputs.blobEndpoint
    resultsContainerName: storage.outputs.resultsContainerName
    callbackSigningKeySecretUri: keyVault.outputs.callbackSigningKeySecretUri
    agentPort: agentPort
    durableBackend: durableBackend
    durableTaskSchedulerEndpoint: durable.outputs.endpoint
    tuning: tuning
  }
}

@description('Resource group of the control plane.')
output APP_RESOURCE_GROUP string = appRg.name

@description('Resource group of the job container groups (JOBS_RESOURCE_GROUP).')
output JOBS_RESOURCE_GROUP string = jobsRg.name

@description('Name of the Function App (for az functionapp deployment source config-zip).')
output FUNCTION_APP_NAME string = functionApp.outputs.appName

@description('Base URL of the API: <FUNCTION_APP_URL>/api/…')
output FUNCTION_APP_URL string = functionApp.outputs.appUrl

@description('Registry name (for az acr build -r).')
output ACR_NAME string = registry.outputs.registryName

@description('Registry login server: the host part of job image references.')
output ACR_LOGIN_SERVER string = registry.outputs.loginServer

@description('Storage account holding the task hub, the deployment package and job results.')
output STORAGE_ACCOUNT_NAME string = storage.outputs.accountName

@description('Key Vault holding the callback signing key (rotate by adding a new secret version).')
output KEY_VAULT_NAME string = keyVault.outputs.vaultName

@description('Resource id of the job identity (JOB_IDENTITY_RESOURCE_ID).')
output JOB_IDENTITY_RESOURCE_ID string = identities.outputs.jobId

@description('Job identity of each tenant in tenantRepositories, by tenant id: that tenant\'s jobIdentityResourceId in the tenants file.')
output TENANT_JOB_IDENTITY_RESOURCE_IDS object = toObject(
  range(0, length(tenantIds)),
  i => tenantIds[i],
  i => identities.outputs.tenantJobIds[i]
)

@description('The Durable backend in use (durableBackend).')
output DURABLE_BACKEND string = durableBackend

@description('Subnet id that job container groups join (empty without enableVnet): a tenant\'s network.subnetId in the tenants file.')
output ACI_SUBNET_ID string = jobs.outputs.aciSubnetId
