// Bearer-token check for every endpoint but /healthz. Both sides are hashed first so the
// comparison is constant-time whatever the lengths (timingSafeEqual needs equal lengths).
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function createTokenCheck(expectedToken: string): (authorizationHeader: string | undefined) => boolean {
  const expected = digest(expectedToken);
  return (header) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
    // Still hash something on a malformed header so the time spent does not reveal why it failed.
    const presented = digest(match?.[1] ?? '');
    return timingSafeEqual(presented, expected) && match !== null;
  };
}
