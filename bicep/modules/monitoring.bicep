// Log Analytics + workspace-based Application Insights with local (key) auth disabled: the Function App
// sends telemetry with its controller identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING), which needs
// Monitoring Metrics Publisher on the component.

@description('Short name resource names are derived from.')
param name string

@description('Region of the workspace and component.')
param location string

@description('Tags for every resource.')
param tags object

@description('Principal id of the controller identity (publishes telemetry).')
param controllerPrincipalId string

@description('Days Log Analytics keeps logs.')
@minValue(30)
param retentionInDays int = 30

// Built-in role, verified in tests/unit/config-contract.test.ts.
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${name}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${name}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

resource controllerPublishesTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, controllerPrincipalId, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: controllerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output connectionString string = appInsights.properties.ConnectionString
