// One credential for every Azure client: the controller's user-assigned managed identity.
// In Azure the Functions host provides IDENTITY_ENDPOINT/IDENTITY_HEADER; locally the emulator
// does (App Service protocol). No secret is ever in code or config.
import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';

export function createCredential(clientId: string): TokenCredential {
  return new ManagedIdentityCredential({ clientId });
}
