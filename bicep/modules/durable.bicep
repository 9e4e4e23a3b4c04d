// The Durable Task Scheduler backend (durableBackend = 'dts'): a scheduler, the app's task hub, and the
// controller identity's data role on that task hub alone. Nothing is created with 'azureStorage', where
// the task hub lives in the storage account (storage.bicep) as before.
// Sources: resource types and properties from the Bicep type library (Microsoft.DurableTask 2025-11-01,
// checked by the compiler in tests/unit/bicep-compile.test.ts); identity and roles from MicrosoftDocs
// azure-docs, articles/azure-functions/durable/durable-task-scheduler/durable-task-scheduler-identity.md
// ("Durable Task Data Contributor ... Most Durable Functions apps require" it; "Durable Task Worker" only
// for apps that process work items without starting, querying or purging instances, which this app does
// from its HTTP API; the connection string format). The role id is the one Microsoft's own Durable Task
// Scheduler templates use (microsoft/azure-skills, skills/azure-prepare/references/services/
// durable-task-scheduler/bicep.md); the stored built-in roles list predates the role, so confirm it with
// `az role definition list --name "Durable Task Data Contributor" --query [].name` before relying on it.

@description('Create the scheduler (durableBackend = \'dts\').')
param enabled bool

@description('Scheduler name (3-64 letters, digits and hyphens).')
@minLength(3)
@maxLength(64)
param schedulerName string

@description('Task hub name: must equal extensions.durableTask.hubName in orchestration/host.json.')
param taskHubName string

@description('Region of the scheduler (the same as the Function App keeps latency low).')
param location string

@description('Tags for every resource.')
param tags object

@description('Principal id of the controller identity: the app is both client (HTTP API) and worker.')
param controllerPrincipalId string

// Built-in role, verified in tests/unit/config-contract.test.ts.
var durableTaskDataContributorRoleId = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = if (enabled) {
  name: schedulerName
  location: location
  tags: tags
  properties: {
    // Consumption: billed per action, nothing while idle, like the rest of this deployment.
    sku: { name: 'Consumption' }
    // Access is by Entra identity only; an empty allow-list would refuse every caller, including the app.
    ipAllowlist: ['0.0.0.0/0']
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = if (enabled) {
  parent: scheduler
  name: taskHubName
}

resource controllerRunsTaskHub 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enabled) {
  name: guid(taskHub.id, controllerPrincipalId, durableTaskDataContributorRoleId)
  scope: taskHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributorRoleId)
    principalId: controllerPrincipalId
    principalType: 'ServicePrincipal'
    description: 'aci-batch controller starts, runs, queries and purges orchestrations in its task hub only'
  }
}

// The data-plane endpoint (https://<name>.<region>.durabletask.io), empty without the scheduler.
output endpoint string = enabled ? scheduler!.properties.endpoint : ''
