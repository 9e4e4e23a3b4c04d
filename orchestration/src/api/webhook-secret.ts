// GET /api/tenants/{tenant}/webhook-secret: the secret a tenant's webhook receiver verifies
// X-AciBatch-Signature with (derived per tenant, see security/webhook-signature.ts). Only the
// tenant's own key reads it: the key already controls everything the webhooks report.
import { webhookSecret, SIGNATURE_HEADER } from '../security/webhook-signature';
import type { TenantDirectory } from '../tenants/types';
import { authorizeTenant, json, type ApiRequest, type ApiResponse } from './http';

export function createWebhookSecret(deps: { tenants: TenantDirectory; signingKey: string }) {
  return async (req: ApiRequest): Promise<ApiResponse> => {
    const tenant = authorizeTenant(req, deps.tenants);
    return json(200, {
      secret: webhookSecret(deps.signingKey, tenant.id),
      header: SIGNATURE_HEADER,
      scheme: 'v1 = hex HMAC-SHA256(secret, "<t>.<raw body>"); header "t=<unix seconds>,v1=<hex>"',
    });
  };
}
