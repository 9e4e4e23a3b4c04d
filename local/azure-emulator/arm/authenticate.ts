// ARM's bearer check: a JWT for an ARM audience signed by the emulator's identity endpoint, with the
// 401 codes, messages and WWW-Authenticate challenge ARM answers.
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../http-util';
import { ARM_AUDIENCES, verifyJwt, type Claims } from '../tokens';
import type { ArmDeps } from './context';

export function authenticate(deps: ArmDeps, req: IncomingMessage): Claims {
  const auth = req.headers.authorization;
  const tenant = deps.identities.tenantId;
  const challenge = `Bearer authorization_uri="https://login.microsoftonline.com/${tenant}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`;
  if (!auth) {
    throw new HttpError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", {
      'WWW-Authenticate': challenge,
    });
  }
  if (!/^bearer\s+/i.test(auth)) {
    throw new HttpError(
      401,
      'AuthenticationFailed',
      "Authentication failed. The 'Authorization' header is provided in an invalid format.",
      { 'WWW-Authenticate': challenge },
    );
  }
  const v = verifyJwt(auth.replace(/^bearer\s+/i, '').trim(), deps.secret, ARM_AUDIENCES);
  if (!v.ok) {
    const msg: Record<string, string> = {
      malformed: 'The access token is invalid.',
      signature: 'The access token has an invalid signature.',
      expired: 'The access token expired or is not yet valid.',
      audience:
        "The access token has an invalid audience: ARM accepts only tokens for 'https://management.azure.com/'.",
    };
    throw new HttpError(
      401,
      v.reason === 'expired' ? 'ExpiredAuthenticationToken' : 'InvalidAuthenticationToken',
      msg[v.reason] ?? 'The access token is invalid.',
      {
        'WWW-Authenticate': challenge.replace(
          "because of missing 'Authorization' header.",
          'because the access token is invalid.',
        ),
      },
    );
  }
  return v.claims;
}
