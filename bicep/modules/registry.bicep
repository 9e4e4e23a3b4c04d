// The registry that holds job images. No admin user and no anonymous pull: ACI pulls with the job
// identity (AcrPull); the controller resolves tags to digests with its own identity (AcrPull too, which
// allows reading tags and manifests and nothing else).

@description('Globally unique registry name (5-50 letters and digits).')
@minLength(5)
@maxLength(50)
param registryName string

@description('Region of the registry.')
param location string

@description('Tags for every resource.')
param tags object

@description('Registry SKU.')
@allowed(['Basic', 'Standard', 'Premium'])
param sku string

@description('Principal id of the job identity: pulls job images for ACI.')
param jobIdentityPrincipalId string

@description('Principal id of the controller identity: resolves image tags to digests before creating a group.')
param controllerPrincipalId string

// Built-in role, verified in tests/unit/config-contract.test.ts.
var acrPullRoleId = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: registryName
  location: location
  tags: tags
  sku: { name: sku }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

resource jobIdentityPulls 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, jobIdentityPrincipalId, acrPullRoleId)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
    principalId: jobIdentityPrincipalId
    principalType: 'ServicePrincipal'
    description: 'ACI pulls job images with the job identity'
  }
}

resource controllerReadsTags 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, controllerPrincipalId, acrPullRoleId)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
    principalId: controllerPrincipalId
    principalType: 'ServicePrincipal'
    description: 'aci-batch controller resolves image tags to digests'
  }
}

output registryName string = registry.name
output loginServer string = registry.properties.loginServer
