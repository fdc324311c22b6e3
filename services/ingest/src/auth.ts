/**
 * Bearer-token authentication against a list of SHA-256 digests: the service never holds the tokens
 * themselves, so its environment and logs cannot leak them. The presented token is hashed and compared
 * with every configured digest in constant time (no early exit on the first match either).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface Authenticator {
  /** False when no digests are configured: every request is let in. */
  readonly enabled: boolean;
  /** True when the Authorization header carries one of the accepted tokens (or auth is disabled). */
  check(authorization: string | undefined): boolean;
}

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

export function createAuthenticator({ tokenSha256s }: { tokenSha256s: string[] }): Authenticator {
  const digests = tokenSha256s.map((hex) => Buffer.from(hex, 'hex'));
  for (const [i, digest] of digests.entries()) {
    if (digest.length !== 32) throw new TypeError(`tokenSha256s[${i}] is not a SHA-256 digest`);
  }
  return {
    enabled: digests.length > 0,
    check(authorization) {
      if (digests.length === 0) return true;
      const match = authorization === undefined ? null : BEARER.exec(authorization);
      if (!match) return false;
      const presented = createHash('sha256').update(match[1]!, 'utf8').digest();
      let ok = false;
      for (const digest of digests) ok = timingSafeEqual(presented, digest) || ok;
      return ok;
    },
  };
}
