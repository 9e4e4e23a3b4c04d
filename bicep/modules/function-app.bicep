// The Function App: Flex Consumption (FC1), Node 20, running as the controller's user-assigned identity,
// and every app setting it reads. The settings block below is the Azure half of the settings contract
// (orchestration/src/config.ts SETTINGS + the Functions host's own settings); tests/unit/config-contract.test.ts
// fails if a setting the code reads is missing here or if this sets one nobody reads.

@description('Globally unique Function App name (its default host name).')
param appName string

@description('Region of the plan and the app (must offer Flex Consumption).')
param location string

@description('Tags for every resource.')
param tags object

@description('Resource id of the controller identity the app runs as.')
param controllerIdentityId string

@description('Client id of the controller identity.')
param controllerClientId string

@description('Storage account for AzureWebJobsStorage (task hub) and the deployment package.')
param storageAccountName string

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('Maximum number of instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Subnet for VNet integration (delegated to Microsoft.App/environments); empty for none.')
param integrationSubnetId string

// Values of the app settings the code reads (orchestration/src/config.ts).
@description('AZURE_SUBSCRIPTION_ID')
param subscriptionId string
@description('JOBS_RESOURCE_GROUP')
param jobsResourceGroupName string
@description('JOBS_LOCATION')
param jobsLocation string
@description('JOB_IDENTITY_RESOURCE_ID')
param jobIdentityResourceId string
@description('ACR_LOGIN_SERVER')
param acrLoginServer string
@description('RESULTS_BLOB_ENDPOINT (no trailing slash)')
param resultsBlobEndpoint string
@description('RESULTS_CONTAINER')
param resultsContainerName string
@description('Versionless URI of the Key Vault secret behind CALLBACK_SIGNING_KEY.')
param callbackSigningKeySecretUri string
@description('AGENT_PORT')
param agentPort int
@description('Durable backend: \'dts\' (Durable Task Scheduler) or \'azureStorage\' (the task hub in the storage account).')
@allowed(['dts', 'azureStorage'])
param durableBackend string
@description('Durable Task Scheduler endpoint (durableBackend = \'dts\'), empty otherwise.')
param durableTaskSchedulerEndpoint string
@description('Overrides of the tunable settings below, keyed by app-setting name; the rest get the code\'s defaults.')
param tuning object

var useDts = durableBackend == 'dts'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${appName}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${controllerIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references (CALLBACK_SIGNING_KEY) resolve with the controller identity.
    keyVaultReferenceIdentity: controllerIdentityId
    virtualNetworkSubnetId: empty(integrationSubnetId) ? null : integrationSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: controllerIdentityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    // Functions host: identity-based AzureWebJobsStorage (no keys) and Entra-authenticated telemetry.
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: controllerClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${controllerClientId};Authorization=AAD'
    // Durable backend. The same package (orchestration/host.json, no storageProvider: Azure Storage) serves
    // both: with 'dts' these settings override host.json's extensions.durableTask.storageProvider
    // (AzureFunctionsJobHost__<path> overrides a host.json value: MicrosoftDocs azure-docs,
    // articles/azure-functions/functions-host-json.md "Override host.json values"), and the connection
    // string names the scheduler and the controller identity (durable-task-scheduler-identity.md:
    // Endpoint=…;Authentication=ManagedIdentity;ClientID=…). With 'azureStorage' they are left out (null
    // omits a property: "Resource Manager templates treat it as if the property isn't present", MicrosoftDocs
    // azure-docs, articles/azure-resource-manager/templates/template-expressions.md "Null values") and the
    // task hub stays in AzureWebJobsStorage.
    #disable-next-line BCP321 // null is deliberate: the setting is left out with azureStorage (see above)
    AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: useDts ? 'azureManaged' : null
    #disable-next-line BCP321 // null is deliberate: the setting is left out with azureStorage (see above)
    AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: useDts
      ? 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
      : null
    #disable-next-line BCP321 // null is deliberate: the setting is left out with azureStorage (see above)
    DURABLE_TASK_SCHEDULER_CONNECTION_STRING: useDts
      ? 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${controllerClientId}'
      : null
    // orchestration/src/config.ts SETTINGS, one line each.
    // Derived from the deployment, or tunable through `tuning` with the code's default written out.
    ARM_ENDPOINT: environment().resourceManager
    AZURE_SUBSCRIPTION_ID: subscriptionId
    JOBS_RESOURCE_GROUP: jobsResourceGroupName
    JOBS_LOCATION: jobsLocation
    JOB_IDENTITY_RESOURCE_ID: jobIdentityResourceId
    AZURE_CLIENT_ID: controllerClientId
    ACR_LOGIN_SERVER: acrLoginServer
    RESULTS_BLOB_ENDPOINT: resultsBlobEndpoint
    RESULTS_CONTAINER: resultsContainerName
    CALLBACK_BASE_URL: 'https://${site.properties.defaultHostName}'
    CALLBACK_SIGNING_KEY: '@Microsoft.KeyVault(SecretUri=${callbackSigningKeySecretUri})'
    TENANTS_FILE: string(tuning.?TENANTS_FILE ?? 'tenants.json')
    AGENT_PORT: string(agentPort)
    POLL_INTERVAL_SECONDS: string(tuning.?POLL_INTERVAL_SECONDS ?? '600')
    PROVISION_TIMEOUT_SECONDS: string(tuning.?PROVISION_TIMEOUT_SECONDS ?? '600')
    READY_FALLBACK_SECONDS: string(tuning.?READY_FALLBACK_SECONDS ?? '30')
    START_TIMEOUT_SECONDS: string(tuning.?START_TIMEOUT_SECONDS ?? '240')
    TEARDOWN_TIMEOUT_SECONDS: string(tuning.?TEARDOWN_TIMEOUT_SECONDS ?? '300')
    GLOBAL_MAX_CORES: string(tuning.?GLOBAL_MAX_CORES ?? '100')
    GLOBAL_MAX_GROUPS: string(tuning.?GLOBAL_MAX_GROUPS ?? '100')
    GLOBAL_MAX_CREATES_PER_5MIN: string(tuning.?GLOBAL_MAX_CREATES_PER_5MIN ?? '100')
    ADMISSION_POLL_SECONDS: string(tuning.?ADMISSION_POLL_SECONDS ?? '300')
    FAIR_SHARE_HALF_LIFE_MINUTES: string(tuning.?FAIR_SHARE_HALF_LIFE_MINUTES ?? '60')
    QUEUE_TIMEOUT_MINUTES: string(tuning.?QUEUE_TIMEOUT_MINUTES ?? '1440')
    DEPENDENCY_TIMEOUT_HOURS: string(tuning.?DEPENDENCY_TIMEOUT_HOURS ?? '168')
    ARM_RETRY_ATTEMPTS: string(tuning.?ARM_RETRY_ATTEMPTS ?? '5')
    ARM_RETRY_FIRST_SECONDS: string(tuning.?ARM_RETRY_FIRST_SECONDS ?? '2')
    CAPACITY_RETRY_ATTEMPTS: string(tuning.?CAPACITY_RETRY_ATTEMPTS ?? '6')
    CAPACITY_RETRY_FIRST_SECONDS: string(tuning.?CAPACITY_RETRY_FIRST_SECONDS ?? '15')
    HISTORY_STEPS_PER_GENERATION: string(tuning.?HISTORY_STEPS_PER_GENERATION ?? '100')
    MAX_REQUEST_BYTES: string(tuning.?MAX_REQUEST_BYTES ?? '1048576')
    RESULT_LINKS: string(tuning.?RESULT_LINKS ?? 'api')
    // SHA-256 of the operator key, not the key: empty leaves /api/admin/* answering 404.
    OPERATOR_KEY_HASH: string(tuning.?OPERATOR_KEY_HASH ?? '')
    SWEEPER_SCHEDULE: string(tuning.?SWEEPER_SCHEDULE ?? '0 */5 * * * *')
    LIVENESS_WATCH_SCHEDULE: string(tuning.?LIVENESS_WATCH_SCHEDULE ?? '0 * * * * *')
    LOG_LEVEL: string(tuning.?LOG_LEVEL ?? 'info')
  }
}

output appName string = site.name
output appUrl string = 'https://${site.properties.defaultHostName}'
