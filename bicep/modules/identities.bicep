// The two user-assigned identities and the one right that links them.
//   controller: the Function App runs as it (ARM, storage, Key Vault references, App Insights, ACR tag lookups).
//   job:        attached to every job container group, only so ACI can pull the image (AcrPull, in registry.bicep).
// The controller attaches the job identity to the groups it creates, which needs
// Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action on that identity: Managed Identity
// Operator, scoped to the job identity alone (not the resource group).

@description('Short name resource names are derived from.')
param name string

@description('Region of the identities.')
param location string

@description('Tags for every resource.')
param tags object

// Built-in role, verified in tests/unit/config-contract.test.ts.
var managedIdentityOperatorRoleId = 'f1a07417-d97a-45cb-824c-7a7467783830'

resource controller 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${name}-controller'
  location: location
  tags: tags
}

resource job 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${name}-job'
  location: location
  tags: tags
}

resource controllerAssignsJobIdentity 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(job.id, controller.id, managedIdentityOperatorRoleId)
  scope: job
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', managedIdentityOperatorRoleId)
    principalId: controller.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'aci-batch controller attaches the job identity to job container groups'
  }
}

output controllerId string = controller.id
output controllerClientId string = controller.properties.clientId
output controllerPrincipalId string = controller.properties.principalId
output jobId string = job.id
output jobPrincipalId string = job.properties.principalId
