// The App Service managed-identity protocol (what IDENTITY_ENDPOINT/IDENTITY_HEADER select in
// @azure/identity → msal-node): GET <endpoint>?api-version=2019-08-01&resource=R[&client_id|mi_res_id|object_id]
// with header X-IDENTITY-HEADER. Plain HTTP on loopback, as in Azure.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { sendJson } from './http-util';
import type { Identity, IdentityRegistry } from './identities';
import { signJwt, TOKEN_LIFETIME_SECONDS } from './tokens';
import type { Logger } from './log';
import type { Grants } from './rbac';

export interface IdentityEndpointDeps {
  identities: IdentityRegistry;
  identityHeader: string;
  secret: Buffer;
  log: Logger;
  /** with RBAC: the endpoint serves only the app's own identities, as App Service does */
  grants?: Grants;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function issueToken(
  deps: Pick<IdentityEndpointDeps, 'identities' | 'secret'>,
  identity: Identity,
  resource: string,
  nowSec = Math.floor(Date.now() / 1000),
) {
  const { tenantId } = deps.identities;
  const exp = nowSec + TOKEN_LIFETIME_SECONDS;
  const claims = {
    aud: resource,
    iss: `https://sts.windows.net/${tenantId}/`,
    iat: nowSec,
    nbf: nowSec - 300,
    exp,
    tid: tenantId,
    oid: identity.principalId,
    sub: identity.principalId,
    appid: identity.clientId,
    appidacr: '2',
    idtyp: 'app',
    ver: '1.0',
    ...(identity.resourceId ? { xms_mirid: identity.resourceId } : {}),
  };
  return { token: signJwt(claims, deps.secret), expiresOn: exp };
}

export function handleIdentityRequest(deps: IdentityEndpointDeps, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const header = req.headers['x-identity-header'];
  if (req.method !== 'GET') {
    sendJson(res, 405, { error: 'invalid_request', error_description: 'Only GET is supported.' });
    return;
  }
  if (typeof header !== 'string' || !sameSecret(header, deps.identityHeader)) {
    // App Service answers a missing/wrong header with 400 ("unauthorized").
    sendJson(res, 400, {
      statusCode: 400,
      message: 'The X-IDENTITY-HEADER header is missing or invalid.',
      error: 'invalid_request',
      error_description: 'The X-IDENTITY-HEADER header is missing or invalid.',
    });
    return;
  }
  const resource = url.searchParams.get('resource');
  if (!resource) {
    sendJson(res, 400, {
      statusCode: 400,
      message: 'The resource parameter is required.',
      error: 'invalid_resource',
      error_description: 'The resource parameter is required.',
    });
    return;
  }
  const clientId = url.searchParams.get('client_id') ?? url.searchParams.get('clientid');
  const resId = url.searchParams.get('mi_res_id') ?? url.searchParams.get('msi_res_id');
  const objectId = url.searchParams.get('object_id') ?? url.searchParams.get('principal_id');
  let identity: Identity | undefined;
  if (clientId) identity = deps.identities.byClient(clientId);
  else if (resId) identity = deps.identities.byResource(resId);
  else if (objectId) identity = deps.identities.byObject(objectId);
  else identity = deps.identities.systemAssigned;
  if (identity && deps.grants && !deps.grants.serves(identity)) identity = undefined;
  if (!identity) {
    const which = clientId ?? resId ?? objectId;
    sendJson(res, 400, {
      statusCode: 400,
      message: `No managed identity with the identifier '${which}' is assigned to this resource.`,
      error: 'invalid_request',
      error_description: `No managed identity with the identifier '${which}' is assigned to this resource.`,
    });
    return;
  }
  const { token, expiresOn } = issueToken(deps, identity, resource);
  deps.log.debug({ resource, clientId: identity.clientId }, 'issued managed identity token');
  sendJson(res, 200, {
    access_token: token,
    expires_on: String(expiresOn),
    resource,
    token_type: 'Bearer',
    client_id: identity.clientId,
  });
}
