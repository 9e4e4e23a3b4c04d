// The jobs resource group: where job container groups live, and the only place the controller may
// create, start, stop, restart, read and delete them (a custom role assigned at this resource group).
// With enableVnet it also holds the VNet: one subnet delegated to ACI (job groups get private IPs only)
// and one delegated to Flex Consumption VNet integration, so the controller reaches the batch agent
// privately. The controller may join job groups to the ACI subnet and to no other subnet.

@description('Short name resource names are derived from.')
param name string

@description('Region of the VNet; job container groups that join it must be in the same region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Principal id of the controller identity.')
param controllerPrincipalId string

@description('Create the VNet and its two delegated subnets.')
param enableVnet bool

@description('VNet address space; a /24 for Functions integration and a /24 for job container groups are carved from it.')
param vnetAddressPrefix string

@description('Port of the batch agent: the only port job groups accept from the Functions subnet.')
param agentPort int

var vnetName = 'vnet-${name}'
var functionsSubnetName = 'snet-functions'
var aciSubnetName = 'snet-aci'
var functionsSubnetPrefix = cidrSubnet(vnetAddressPrefix, 24, 0)
var aciSubnetPrefix = cidrSubnet(vnetAddressPrefix, 24, 1)

// What the orchestrator and the sweeper do to container groups, and nothing more. Quota reads
// (Microsoft.ContainerInstance/locations/usages/read) live at subscription scope, which this role never
// reaches: the controller stays within GLOBAL_MAX_CORES / GLOBAL_MAX_GROUPS instead of reading usages.
// locations/operations/read: create, delete, start and restart answer with an Azure-AsyncOperation URL
// under /subscriptions/{id}/providers/Microsoft.ContainerInstance/locations/{region}/operations/{id},
// which the SDK polls. ARM checks that action at the resource group of the operation's resource, so
// this resource-group role covers it and no subscription-scope grant is needed (MicrosoftDocs/azure-docs
// articles/azure-resource-manager/management/async-operations.md, "Permission for tracking async status").
var containerGroupActions = [
  'Microsoft.ContainerInstance/containerGroups/read'
  'Microsoft.ContainerInstance/containerGroups/write'
  'Microsoft.ContainerInstance/containerGroups/delete'
  'Microsoft.ContainerInstance/containerGroups/start/action'
  'Microsoft.ContainerInstance/containerGroups/stop/action'
  'Microsoft.ContainerInstance/containerGroups/restart/action'
  'Microsoft.ContainerInstance/containerGroups/containers/logs/read'
  'Microsoft.ContainerInstance/containerGroups/operationResults/read'
  'Microsoft.ContainerInstance/locations/operations/read'
]

resource containerGroupRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'aci-batch-container-groups')
  properties: {
    roleName: 'aci-batch container groups (${resourceGroup().name}, ${subscription().subscriptionId})'
    description: 'Create, start, stop, restart, read logs of and delete container groups in the aci-batch jobs resource group.'
    type: 'CustomRole'
    permissions: [
      {
        actions: containerGroupActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource controllerManagesGroups 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, controllerPrincipalId, containerGroupRole.id)
  scope: resourceGroup()
  properties: {
    roleDefinitionId: containerGroupRole.id
    principalId: controllerPrincipalId
    principalType: 'ServicePrincipal'
    description: 'aci-batch controller manages job container groups in this resource group only'
  }
}

// Job groups accept the agent port from the Functions subnet and nothing else from inside the VNet.
resource aciNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = if (enableVnet) {
  name: 'nsg-${name}-aci'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'allow-agent-from-functions'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: functionsSubnetPrefix
          sourcePortRange: '*'
          destinationAddressPrefix: aciSubnetPrefix
          destinationPortRange: string(agentPort)
        }
      }
      {
        name: 'deny-other-vnet-inbound'
        properties: {
          priority: 4000
          direction: 'Inbound'
          access: 'Deny'
          protocol: '*'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '*'
        }
      }
    ]
  }
}

// Outbound: subnets are private (no default outbound access), so the Function App (Flex routes all its
// traffic through the integration subnet) and the job containers (callbacks to the app) leave through
// one NAT gateway with a static public IP, which also gives a fixed egress address to allow-list.
resource natIp 'Microsoft.Network/publicIPAddresses@2024-05-01' = if (enableVnet) {
  name: 'pip-${name}-nat'
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: {
    publicIPAllocationMethod: 'Static'
    publicIPAddressVersion: 'IPv4'
  }
}

resource nat 'Microsoft.Network/natGateways@2024-05-01' = if (enableVnet) {
  name: 'ng-${name}'
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: {
    idleTimeoutInMinutes: 4
    publicIpAddresses: [
      { id: natIp.id }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = if (enableVnet) {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [vnetAddressPrefix] }
    subnets: [
      {
        name: functionsSubnetName
        properties: {
          addressPrefix: functionsSubnetPrefix
          defaultOutboundAccess: false
          natGateway: { id: nat.id }
          delegations: [
            { name: 'flex-consumption', properties: { serviceName: 'Microsoft.App/environments' } }
          ]
        }
      }
      {
        name: aciSubnetName
        properties: {
          addressPrefix: aciSubnetPrefix
          defaultOutboundAccess: false
          natGateway: { id: nat.id }
          networkSecurityGroup: { id: aciNsg.id }
          delegations: [
            { name: 'aci', properties: { serviceName: 'Microsoft.ContainerInstance/containerGroups' } }
          ]
        }
      }
    ]
  }
}

resource aciSubnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  parent: vnet
  name: aciSubnetName
}

// Creating a VNet-injected group needs subnets/join/action on its subnet: a second custom role with only
// that action, assigned on the ACI subnet (not the VNet, not the resource group).
resource subnetJoinRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (enableVnet) {
  name: guid(resourceGroup().id, 'aci-batch-subnet-join')
  properties: {
    roleName: 'aci-batch subnet join (${resourceGroup().name}, ${subscription().subscriptionId})'
    description: 'Join aci-batch job container groups to the ACI subnet.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Network/virtualNetworks/subnets/join/action'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource controllerJoinsAciSubnet 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableVnet) {
  name: guid(resourceGroup().id, controllerPrincipalId, 'aci-batch-subnet-join')
  scope: aciSubnet
  properties: {
    roleDefinitionId: subnetJoinRole.id
    principalId: controllerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output functionsSubnetId string = enableVnet ? resourceId('Microsoft.Network/virtualNetworks/subnets', vnetName, functionsSubnetName) : ''
output aciSubnetId string = enableVnet ? resourceId('Microsoft.Network/virtualNetworks/subnets', vnetName, aciSubnetName) : ''
