// Key Vault (RBAC authorization, no access policies) holding the callback signing key. The Function App
// reads it through a Key Vault reference resolved with the controller identity, which may read this one
// secret and nothing else in the vault (Key Vault Secrets User scoped to the secret).

@description('Globally unique vault name (3-24 letters, digits and hyphens).')
@minLength(3)
@maxLength(24)
param vaultName string

@description('Region of the vault.')
param location string

@description('Tags for every resource.')
param tags object

@description('The callback signing key (>= 32 characters).')
@secure()
@minLength(32)
param callbackSigningKey string

@description('Principal id of the controller identity: resolves the Key Vault reference.')
param controllerPrincipalId string

// Built-in role, verified in tests/unit/config-contract.test.ts.
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource signingKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'callback-signing-key'
  properties: {
    value: callbackSigningKey
    contentType: 'HMAC key for per-job callback tokens'
  }
}

resource controllerReadsSigningKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(signingKey.id, controllerPrincipalId, keyVaultSecretsUserRoleId)
  scope: signingKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: controllerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output vaultName string = vault.name
// Versionless URI: the app picks up a new secret version (rotation) without a redeploy.
output callbackSigningKeySecretUri string = signingKey.properties.secretUri
