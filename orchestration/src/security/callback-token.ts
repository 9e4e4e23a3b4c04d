// Per-job callback tokens: HMAC-SHA256 of the job id under the server secret. Derived where
// needed (activities, the callback endpoint), never stored in orchestration input/status/history.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function callbackToken(signingKey: string, jobId: string): string {
  return createHmac('sha256', signingKey).update(`aci-batch/callback/v1/${jobId}`, 'utf8').digest('base64url');
}

export function verifyCallbackToken(signingKey: string, jobId: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(callbackToken(signingKey, jobId), 'utf8');
  const got = Buffer.from(presented, 'utf8');
  // Compare equal-length buffers only; a length mismatch is a mismatch (the length is not secret).
  return got.length === expected.length && timingSafeEqual(got, expected);
}
