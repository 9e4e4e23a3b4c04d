// Parameters for main.bicep. Copy, edit name/location, then:
//   export CALLBACK_SIGNING_KEY="$(openssl rand -base64 48)"
//   az deployment sub create --name aci-batch --location <location> --parameters bicep/main.bicepparam
// The signing key is read from the environment at deployment time and stored only in Key Vault:
// it never appears in this file, in an app setting or in the deployment's parameters.
using './main.bicep'

param name = 'acibatch'
param location = 'westeurope'
param callbackSigningKey = readEnvironmentVariable('CALLBACK_SIGNING_KEY')
param enableVnet = true
// Durable backend: 'dts' (Durable Task Scheduler, the default) or 'azureStorage' (see bicep/README.md).
param durableBackend = 'dts'
// Tenants with their own job identity, each limited to its ACR repositories (an entry ending in '/' is a
// prefix). Then set each tenant's jobIdentityResourceId from the TENANT_JOB_IDENTITY_RESOURCE_IDS output.
// param tenantRepositories = { contoso: ['contoso/'], fabrikam: ['fabrikam/model'] }
