// The role assignments bicep/main.bicep deploys, read from the ARM JSON the real compiler makes, as one
// JSON document (shape: DeployedGrants below, documented in bicep/README.md "Deployed grants"). The local
// emulator enforces exactly these grants, so the suite proves the deployed roles suffice and a missing one
// shows up locally. Usage: node --import tsx scripts/deployed-grants.ts [out.json]  (stdout without a path)
import { writeFileSync } from 'node:fs';
import { compileBicep, findBicep, NO_COMPILER, type ArmResource, type ArmTemplate } from './bicep-cli';

/** Whose grant: the controller (the Function App), the shared job identity, or each tenant's job identity. */
export type Principal = 'controller' | 'job' | 'tenantJob';

/** Where a grant applies. `resourceType` absent: the resource group itself. */
export interface GrantScope {
  readonly resourceGroup: 'app' | 'jobs';
  readonly resourceType?: string;
  /** For identities: which one ('controller', 'job', or 'tenantJob' = the same tenant's identity). */
  readonly identity?: Principal;
}

export interface Grant {
  readonly principal: Principal;
  /** Built-in role name, or the custom role's name without its "(resource group, subscription)" suffix. */
  readonly role: string;
  readonly roleKind: 'builtIn' | 'custom';
  /** Built-in role definition id (GUID); absent for custom roles. */
  readonly roleDefinitionId?: string;
  /** The role's permissions; null for built-in roles whose service the emulator does not enforce. */
  readonly permissions: {
    readonly actions: string[];
    readonly notActions: string[];
    readonly dataActions: string[];
    readonly notDataActions: string[];
  } | null;
  /** Custom roles only: where the role may be assigned. */
  readonly assignableScopes?: GrantScope[];
  readonly scope: GrantScope;
  /**
   * ACR repositories the grant is limited to by its ABAC condition: null = every repository;
   * 'tenant' = that tenant's entries of main.bicep's tenantRepositories (exact names, or prefixes ending
   * in '/'); 'unclaimed' = every repository no tenant's entries match.
   */
  readonly repositories: null | 'tenant' | 'unclaimed';
  /** One assignment per tenant in tenantRepositories (principal 'tenantJob'). */
  readonly perTenant: boolean;
  /** The main.bicep condition (ARM expression) under which it is deployed; null = always. */
  readonly deployedWhen: string | null;
  /** The Bicep module (nested deployment) that deploys it, for messages. */
  readonly module: string;
}

export interface DeployedGrants {
  readonly source: 'bicep/main.bicep';
  readonly bicepVersion: string;
  readonly grants: Grant[];
}

/**
 * Built-in roles bicep/ may assign, with the permissions of those whose service the emulator enforces.
 * Ids and permissions: MicrosoftDocs/azure-docs, articles/role-based-access-control/built-in-roles/
 * containers.md (AcrPull, Container Registry Repository Reader; commit 0088bfa77543e07f8a41771de8db977ddfc62e1d)
 * and identity.md (Managed Identity Operator). tests/unit/config-contract.test.ts checks each id too.
 */
export const BUILT_IN_ROLES: Record<string, { name: string; permissions: Grant['permissions'] }> = {
  '7f951dda-4ed3-4680-a7ca-43fe172d538d': {
    name: 'AcrPull',
    permissions: {
      actions: ['Microsoft.ContainerRegistry/registries/pull/read'],
      notActions: [],
      dataActions: [],
      notDataActions: [],
    },
  },
  'b93aa761-3e63-49ed-ac28-beffa264f7ac': {
    name: 'Container Registry Repository Reader',
    permissions: {
      actions: [],
      notActions: [],
      dataActions: [
        'Microsoft.ContainerRegistry/registries/repositories/metadata/read',
        'Microsoft.ContainerRegistry/registries/repositories/content/read',
      ],
      notDataActions: [],
    },
  },
  'f1a07417-d97a-45cb-824c-7a7467783830': {
    name: 'Managed Identity Operator',
    permissions: {
      actions: [
        'Microsoft.ManagedIdentity/userAssignedIdentities/*/read',
        'Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action',
        'Microsoft.Authorization/*/read',
        'Microsoft.Insights/alertRules/*',
        'Microsoft.Resources/subscriptions/resourceGroups/read',
        'Microsoft.Resources/deployments/*',
        'Microsoft.Support/*',
      ],
      notActions: [],
      dataActions: [],
      notDataActions: [],
    },
  },
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': { name: 'Storage Blob Data Owner', permissions: null },
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': { name: 'Storage Queue Data Contributor', permissions: null },
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': { name: 'Storage Table Data Contributor', permissions: null },
  '4633458b-17de-408a-b874-0445c86b69e6': { name: 'Key Vault Secrets User', permissions: null },
  '3913510d-42f4-4e42-8a64-420c390055eb': { name: 'Monitoring Metrics Publisher', permissions: null },
  '0ad04412-c4d5-4796-b79c-f76d14c8d402': { name: 'Durable Task Data Contributor', permissions: null },
};

/** identities.bicep outputs (as passed on by main.bicep) → whose principal id they are. */
const IDENTITY_OUTPUTS: Record<string, Principal> = {
  controllerPrincipalId: 'controller',
  jobPrincipalId: 'job',
  tenantJobPrincipalIds: 'tenantJob',
};
/** identities.bicep resource names → whose identity. */
const IDENTITY_NAMES: [RegExp, Principal][] = [
  [/'id-\{0\}-job-\{1\}'/, 'tenantJob'],
  [/'id-\{0\}-job'/, 'job'],
  [/'id-\{0\}-controller'/, 'controller'],
];
const IDENTITY_SYMBOLS: Record<string, Principal> = { controller: 'controller', job: 'job', tenantJob: 'tenantJob' };

function entries(template: ArmTemplate): { symbol?: string; resource: ArmResource }[] {
  const r = template.resources as unknown;
  return Array.isArray(r)
    ? (r as ArmResource[]).map((resource) => ({ resource }))
    : Object.entries(r as Record<string, ArmResource>).map(([symbol, resource]) => ({ symbol, resource }));
}

/** The expression inside "[…]", or undefined for a literal. */
function expr(value: unknown): string | undefined {
  return typeof value === 'string' && value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : undefined;
}

interface Module {
  readonly name: string;
  readonly resourceGroup: 'app' | 'jobs';
  readonly passed: Record<string, unknown>;
  readonly template: ArmTemplate;
}

function modules(main: ArmTemplate): Module[] {
  return entries(main)
    .filter(({ resource }) => resource.type === 'Microsoft.Resources/deployments')
    .map(({ resource }) => {
      const props = resource.properties as { parameters: Record<string, { value: unknown }>; template: ArmTemplate };
      const rg = resource.resourceGroup ?? '';
      const resourceGroup = rg.includes('jobsResourceGroupName')
        ? 'jobs'
        : rg.includes('appResourceGroupName')
          ? 'app'
          : undefined;
      if (!resourceGroup)
        throw new Error(`main.bicep: module ${resource.name} has resource group ${rg}: expected appRg or jobsRg`);
      return { name: resource.name, resourceGroup, passed: props.parameters, template: props.template };
    });
}

function principalOf(value: unknown, m: Module): Principal {
  const e = expr(value) ?? '';
  const symbol = /^reference\('(\w+)'\)/.exec(e);
  if (symbol && IDENTITY_SYMBOLS[symbol[1]!]) return IDENTITY_SYMBOLS[symbol[1]!]!;
  for (const [re, p] of IDENTITY_NAMES) if (/userAssignedIdentities/.test(e) && re.test(e)) return p;
  const param = /^parameters\('(\w+)'\)/.exec(e);
  if (param) {
    const passed = JSON.stringify(m.passed[param[1]!] ?? '');
    const field = /\[copyIndex\(\)\]\.(\w+)$/.exec(e)?.[1];
    const output = field
      ? new RegExp(`'${field}', reference\\('identities'\\)\\.outputs\\.(\\w+)`).exec(passed)?.[1]
      : /reference\('identities'\)\.outputs\.(\w+)\.value/.exec(passed)?.[1];
    if (output && IDENTITY_OUTPUTS[output]) return IDENTITY_OUTPUTS[output];
  }
  throw new Error(
    `bicep/ module ${m.name}: cannot tell whose principal id ${String(value)} is: assign roles to the controller, job or tenant job identity from identities.bicep (pass its *PrincipalId output)`,
  );
}

function scopeOf(resource: ArmResource, m: Module): GrantScope {
  const e = expr(resource.scope);
  if (!resource.scope) return { resourceGroup: m.resourceGroup };
  const type = e ? /(?:resourceId|format)\('(Microsoft\.[\w.]+\/[\w/]+?)(?:\/\{0\}[^']*)?'/.exec(e)?.[1] : undefined;
  if (!type)
    throw new Error(
      `bicep/ module ${m.name}: role assignment ${resource.name} has a scope ARM cannot place: ${resource.scope}`,
    );
  if (type === 'Microsoft.ManagedIdentity/userAssignedIdentities') {
    const identity = IDENTITY_NAMES.find(([re]) => re.test(e ?? ''))?.[1];
    if (!identity)
      throw new Error(`bicep/ module ${m.name}: role assignment ${resource.name} is scoped to an unknown identity`);
    return { resourceGroup: m.resourceGroup, resourceType: type, identity };
  }
  return { resourceGroup: m.resourceGroup, resourceType: type };
}

function variable(template: ArmTemplate, value: unknown): unknown {
  const v = /^variables\('(\w+)'\)$/.exec(expr(value) ?? '');
  return v ? template.variables?.[v[1]!] : value;
}

function deployedWhen(resource: ArmResource, m: Module): string | null {
  if (resource.condition === undefined) return null;
  const param = /^parameters\('(\w+)'\)$/.exec(expr(resource.condition) ?? '');
  const passed = param ? (m.passed[param[1]!] as { value: unknown } | undefined)?.value : undefined;
  return expr(passed) ?? expr(resource.condition) ?? String(resource.condition);
}

function repositoriesOf(resource: ArmResource): Grant['repositories'] {
  const condition = (resource.properties as { condition?: string }).condition;
  if (condition === undefined) return null;
  // Literal tests, or calls of registry.bicep's repositoryTest(repository, negate) function.
  if (/StringNot/.test(condition) || /repositoryTest\([^)]*\), true\(\)\)/.test(condition)) return 'unclaimed';
  if (/repositories:name/.test(condition) || /repositoryTest\([^)]*\), false\(\)\)/.test(condition)) return 'tenant';
  throw new Error(
    `bicep/: role assignment ${resource.name} has a condition that is not a repository filter: ${condition}`,
  );
}

/** Every role assignment of the compiled main.bicep, with its role's permissions. */
export function extractGrants(main: ArmTemplate): DeployedGrants {
  const grants: Grant[] = [];
  for (const m of modules(main)) {
    const all = entries(m.template);
    for (const { resource } of all.filter((x) => x.resource.type === 'Microsoft.Authorization/roleAssignments')) {
      const props = resource.properties as { roleDefinitionId: string; principalId: string };
      const roleExpr = expr(props.roleDefinitionId) ?? '';
      const builtIn = /^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', (.+)\)$/.exec(roleExpr);
      const custom = /^resourceId\('Microsoft\.Authorization\/roleDefinitions', (.+)\)$/.exec(roleExpr);
      const common = {
        principal: principalOf(props.principalId, m),
        scope: scopeOf(resource, m),
        repositories: repositoriesOf(resource),
        perTenant: resource.copy !== undefined,
        deployedWhen: deployedWhen(resource, m),
        module: m.name,
      };
      if (builtIn) {
        const id = String(variable(m.template, `[${builtIn[1]}]`)).toLowerCase();
        const role = BUILT_IN_ROLES[id];
        if (!role)
          throw new Error(
            `bicep/ module ${m.name}: role id ${id} is not in BUILT_IN_ROLES of scripts/deployed-grants.ts`,
          );
        grants.push({
          ...common,
          role: role.name,
          roleKind: 'builtIn',
          roleDefinitionId: id,
          permissions: structuredClone(role.permissions),
        });
      } else if (custom) {
        const def = all.find(
          (x) => x.resource.type === 'Microsoft.Authorization/roleDefinitions' && x.resource.name === `[${custom[1]}]`,
        )?.resource;
        if (!def)
          throw new Error(
            `bicep/ module ${m.name}: role assignment ${resource.name} names a custom role defined elsewhere`,
          );
        const p = def.properties as {
          roleName: string;
          permissions: Record<'actions' | 'notActions' | 'dataActions' | 'notDataActions', unknown>[];
          assignableScopes: string[];
        };
        const list = (v: unknown): string[] => {
          const r = variable(m.template, v);
          if (!Array.isArray(r) || r.some((x) => typeof x !== 'string' || x.startsWith('[')))
            throw new Error(
              `bicep/ module ${m.name}: custom role permissions must be literal lists, got ${JSON.stringify(v)}`,
            );
          return r as string[];
        };
        const perm = p.permissions[0]!;
        grants.push({
          ...common,
          role: (/^format\('([^(']+?)\s*\(/.exec(expr(p.roleName) ?? '')?.[1] ?? p.roleName).trim(),
          roleKind: 'custom',
          permissions: {
            actions: list(perm.actions),
            notActions: list(perm.notActions),
            dataActions: list(perm.dataActions),
            notDataActions: list(perm.notDataActions),
          },
          assignableScopes: p.assignableScopes.map((s) => {
            if (s !== '[resourceGroup().id]')
              throw new Error(
                `bicep/ module ${m.name}: custom role assignable scope ${s}: only resourceGroup().id is understood`,
              );
            return { resourceGroup: m.resourceGroup };
          }),
        });
      } else
        throw new Error(
          `bicep/ module ${m.name}: role assignment ${resource.name} has roleDefinitionId ${props.roleDefinitionId}`,
        );
    }
  }
  return {
    source: 'bicep/main.bicep',
    bicepVersion: main.metadata?._generator?.version ?? 'unknown',
    grants,
  };
}

/** Compiles bicep/main.bicep with the real compiler and extracts its grants. */
export function deployedGrants(): DeployedGrants {
  if (!findBicep()) throw new Error(NO_COMPILER);
  return extractGrants(compileBicep('bicep/main.bicep'));
}

if (require.main === module) {
  const doc = JSON.stringify(deployedGrants(), null, 2) + '\n';
  const out = process.argv[2];
  if (out) writeFileSync(out, doc);
  else process.stdout.write(doc);
}
