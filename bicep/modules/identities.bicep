// The user-assigned identities and the one right that links them.
//   controller:  the Function App runs as it (ARM, storage, Key Vault references, App Insights, ACR tag lookups).
//   job:         attached to job container groups of tenants without their own job identity, only so ACI can
//                pull the image (registry.bicep: every repository no tenant claims).
//   job-<tenant>: one per tenant in tenantIds, attached to that tenant's groups only; it may pull that
//                tenant's repositories and no other (registry.bicep), so one tenant's job cannot pull
//                another's images.
// The controller attaches these identities to the groups it creates, which needs
// Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action on each: Managed Identity Operator,
// scoped to each job identity alone (not the resource group).

@description('Short name resource names are derived from.')
param name string

@description('Region of the identities.')
param location string

@description('Tags for every resource.')
param tags object

@description('Tenant ids that get their own job identity (the keys of main.bicep\'s tenantRepositories).')
param tenantIds string[]

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

resource tenantJob 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [
  for tenant in tenantIds: {
    name: 'id-${name}-job-${tenant}'
    location: location
    tags: tags
  }
]

resource controllerAssignsTenantJobIdentity 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (tenant, i) in tenantIds: {
    name: guid(tenantJob[i].id, controller.id, managedIdentityOperatorRoleId)
    scope: tenantJob[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', managedIdentityOperatorRoleId)
      principalId: controller.properties.principalId
      principalType: 'ServicePrincipal'
      description: 'aci-batch controller attaches tenant ${tenant}\'s job identity to that tenant\'s job container groups'
    }
  }
]

output controllerId string = controller.id
output controllerClientId string = controller.properties.clientId
output controllerPrincipalId string = controller.properties.principalId
output jobId string = job.id
output jobPrincipalId string = job.properties.principalId
// In tenantIds order.
output tenantJobIds string[] = [for (tenant, i) in tenantIds: tenantJob[i].id]
output tenantJobPrincipalIds string[] = [for (tenant, i) in tenantIds: tenantJob[i].properties.principalId]
