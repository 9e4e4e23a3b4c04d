// The registry that holds job images. No admin user and no anonymous pull. Repository permissions are
// Microsoft Entra ABAC ("RBAC Registry + ABAC Repository Permissions", roleAssignmentMode
// 'AbacRepositoryPermissions'), so a pull right can be limited to named repositories:
//   - each tenant's job identity may read (pull) only that tenant's repositories;
//   - the shared job identity may read every repository no tenant claims;
//   - the controller may read every repository (it resolves any tenant's tag to a digest before a create).
// Why ABAC and not tokens/scope maps: scope maps serve non-Entra tokens (a username/password ACI would
// have to hold as a secret), while ACI pulls with a user-assigned managed identity, which ABAC conditions
// scope per repository. Source: MicrosoftDocs/azure-management-docs,
// articles/container-registry/container-registry-rbac-abac-repository-permissions.md (ABAC-enabled roles;
// "AcrPull, AcrPush and AcrDelete aren't honored in an ABAC-enabled registry"; the condition format below;
// "an ABAC-enabled role without conditions ... grants permissions to all repositories"; prefixes need the
// trailing '/').

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

@description('Principal id of the shared job identity: pulls, for tenants without their own job identity, any repository no tenant claims.')
param jobIdentityPrincipalId string

@description('Principal id of the controller identity: resolves image tags to digests before creating a group.')
param controllerPrincipalId string

@description('One entry per tenant with its own job identity: the identity\'s principal id and the repositories it may pull (an entry ending in \'/\' is a prefix).')
param tenantJobs { tenant: string, principalId: string, repositories: string[] }[]

// Built-in role, verified in tests/unit/config-contract.test.ts (the ABAC-enabled read role: pull images,
// read tags and manifests; no push, no delete, no catalog listing).
var containerRegistryRepositoryReaderRoleId = 'b93aa761-3e63-49ed-ac28-beffa264f7ac'

// The two data actions of Container Registry Repository Reader; the condition constrains exactly these.
var readActions = '!(ActionMatches{\'Microsoft.ContainerRegistry/registries/repositories/content/read\'}) AND !(ActionMatches{\'Microsoft.ContainerRegistry/registries/repositories/metadata/read\'})'

// One repository test: an entry ending in '/' is a prefix (StringStartsWithIgnoreCase), else an exact name;
// negated (StringNot…) for the shared identity's exclusions. (A function cannot read variables.)
func repositoryTest(repository string, negate bool) string =>
  '@Request[Microsoft.ContainerRegistry/registries/repositories:name] ${negate ? 'StringNot' : 'String'}${endsWith(repository, '/') ? 'StartsWith' : 'Equals'}IgnoreCase \'${repository}\''

var claimed = flatten(map(tenantJobs, t => t.repositories))

resource registry 'Microsoft.ContainerRegistry/registries@2025-11-01' = {
  name: registryName
  location: location
  tags: tags
  sku: { name: sku }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
    roleAssignmentMode: 'AbacRepositoryPermissions'
  }
}

resource tenantJobPulls 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for t in tenantJobs: {
    name: guid(registry.id, t.principalId, containerRegistryRepositoryReaderRoleId)
    scope: registry
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', containerRegistryRepositoryReaderRoleId)
      principalId: t.principalId
      principalType: 'ServicePrincipal'
      description: 'ACI pulls tenant ${t.tenant}\'s job images with its job identity: its repositories only'
      conditionVersion: '2.0'
      condition: '((${readActions}) OR (${join(map(t.repositories, r => repositoryTest(r, false)), ' OR ')}))'
    }
  }
]

resource jobIdentityPulls 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, jobIdentityPrincipalId, containerRegistryRepositoryReaderRoleId)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', containerRegistryRepositoryReaderRoleId)
    principalId: jobIdentityPrincipalId
    principalType: 'ServicePrincipal'
    description: 'ACI pulls job images of tenants without their own job identity: no repository a tenant claims'
    // Without tenants there is nothing to exclude: registry-wide read.
    conditionVersion: empty(claimed) ? null : '2.0'
    condition: empty(claimed)
      ? null
      : '((${readActions}) OR (${join(map(claimed, r => repositoryTest(r, true)), ' AND ')}))'
  }
}

resource controllerReadsTags 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, controllerPrincipalId, containerRegistryRepositoryReaderRoleId)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', containerRegistryRepositoryReaderRoleId)
    principalId: controllerPrincipalId
    principalType: 'ServicePrincipal'
    description: 'aci-batch controller resolves image tags to digests (every repository, read only)'
  }
}

output registryName string = registry.name
output loginServer string = registry.properties.loginServer
