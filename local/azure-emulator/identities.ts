// Managed identities known to the emulator. Without an --identities file any client id is a valid
// user-assigned identity (principal derived from it) and any UAMI resource id gets a derived client
// id; with the file only the listed ones exist.
import { readFileSync } from 'node:fs';
import { guidFrom } from './tokens';

export interface Identity {
  name: string;
  resourceId?: string;
  clientId: string;
  principalId: string;
  kind: 'SystemAssigned' | 'UserAssigned';
}

export interface IdentitiesFile {
  identities: Array<{ name?: string; resourceId?: string; clientId?: string; principalId?: string }>;
}

export class IdentityRegistry {
  readonly restricted: boolean;
  readonly systemAssigned: Identity;
  private readonly byClientId = new Map<string, Identity>();
  private readonly byResourceId = new Map<string, Identity>();

  constructor(
    readonly tenantId: string,
    readonly subscriptionId: string,
    seed: string,
    file?: string,
  ) {
    this.systemAssigned = {
      name: 'system-assigned',
      kind: 'SystemAssigned',
      clientId: guidFrom('system-client', seed),
      principalId: guidFrom('system-principal', seed),
    };
    this.restricted = !!file;
    const list: IdentitiesFile['identities'] = file
      ? (JSON.parse(readFileSync(file, 'utf8')) as IdentitiesFile).identities
      : [
          { name: 'aci-batch-controller', resourceId: this.defaultResourceId('aci-batch-controller') },
          { name: 'aci-batch-jobs', resourceId: this.defaultResourceId('aci-batch-jobs') },
        ];
    for (const e of list) {
      const resourceId = e.resourceId ?? (e.name ? this.defaultResourceId(e.name) : undefined);
      const clientId = (
        e.clientId ?? (resourceId ? IdentityRegistry.clientIdFor(resourceId) : undefined)
      )?.toLowerCase();
      if (!clientId) throw new Error('identities file: every identity needs a clientId or a resourceId');
      const id: Identity = {
        name: e.name ?? resourceId?.split('/').pop() ?? clientId,
        kind: 'UserAssigned',
        clientId,
        principalId: e.principalId ?? guidFrom('principal', clientId),
        ...(resourceId ? { resourceId } : {}),
      };
      this.byClientId.set(clientId, id);
      if (resourceId) this.byResourceId.set(resourceId.toLowerCase(), id);
    }
  }

  defaultResourceId(name: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/aci-batch-jobs/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
  }

  static clientIdFor(resourceId: string): string {
    return guidFrom('client', resourceId.toLowerCase());
  }

  known(): Identity[] {
    return [...this.byClientId.values()];
  }

  /** The identity a token request names; undefined when restricted and unknown. */
  byClient(clientId: string): Identity | undefined {
    const c = clientId.toLowerCase();
    const found = this.byClientId.get(c);
    if (found || this.restricted) return found;
    return { name: c, kind: 'UserAssigned', clientId: c, principalId: guidFrom('principal', c) };
  }

  byResource(resourceId: string): Identity | undefined {
    const found = this.byResourceId.get(resourceId.toLowerCase());
    if (found || this.restricted) return found;
    const clientId = IdentityRegistry.clientIdFor(resourceId);
    return {
      name: resourceId.split('/').pop() ?? clientId,
      kind: 'UserAssigned',
      resourceId,
      clientId,
      principalId: guidFrom('principal', clientId),
    };
  }

  byObject(objectId: string): Identity | undefined {
    const o = objectId.toLowerCase();
    if (o === this.systemAssigned.principalId) return this.systemAssigned;
    return [...this.byClientId.values()].find((i) => i.principalId === o);
  }
}
