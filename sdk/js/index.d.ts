// Types of the npm package oncelink (docs/sdk-js.md).

/** A key file: `{"active":"k1","keys":[{"kid":"k1","secret":"<base64url>"}]}`. */
export interface KeyFile {
  active: string;
  keys: { kid: string; secret: string }[];
}

/** The key file as JSON text, or parsed. */
export type Keys = string | KeyFile;

/** Options of `mint`, named as `oncelink mint`'s flags. */
export interface MintOptions {
  /** Path granted, decoded form, e.g. `/reports/q3.pdf`; end with `/*` for a prefix. */
  path: string;
  /** Use limit, 1 to 1000000. Without it the link is time-limited only. */
  uses?: number;
  /** Lifetime from now: seconds, or `"90s"`, `"15m"`, `"1h"`, `"7d"`, `"2w"` (default 24 h). Not with `exp`. */
  ttl?: number | string;
  /** Absolute expiry, Unix seconds. Not with `ttl`. */
  exp?: number;
  /** Not valid before, Unix seconds. */
  nbf?: number;
  /** Only clients inside this CIDR (IPv4 or IPv6) may use the link. */
  ip?: string;
  /** Download file name (Content-Disposition: attachment). */
  filename?: string;
  /** Region of the store record (default: the deployment's home region). */
  region?: string;
  /** Resume grace window in seconds, 0 to 86400 (needs `uses`; default 600). */
  grace?: number;
  /** `page`: a download page whose button uses the link; `direct`: GET downloads. */
  mode?: 'page' | 'direct';
  /** Protect the link with this password (needs `uses`; opens as a page). */
  password?: string;
  /** Bind the link to its first downloader (needs `uses`): every other client (network /24 or /48, or User-Agent) gets 403 `bound_elsewhere`. */
  bind?: boolean;
  /** Lock the link for good after this many wrong passwords (1 to 100; needs `password`): 410 `locked`. Anyone holding the link can then use it up by guessing. */
  lock_after?: number;
  /** Your own reference for the link (a recipient, a ticket), 1 to 64 characters; carried into its events (docs/events.md). Readable by anyone holding the link. */
  ref?: string;
  /** Token id, 16 to 64 of `[A-Za-z0-9_-]` (default: 128 random bits). Tokens sharing an id share one use counter and one revocation. */
  id?: string;
  /** The time to mint at, Unix seconds (default: now). */
  now?: number;
}

/** Claims as the token carries them (docs/token-v1.md). */
export interface Claims {
  id: string;
  p: string;
  exp: number;
  nbf?: number;
  n?: number;
  r?: string;
  ip?: string;
  fn?: string;
  g?: number;
  m?: 'page' | 'direct';
  pw?: string;
}

export interface VerifyOptions {
  /** Request path, raw as in a URL (default: the link's path, else the token's own). */
  path?: string;
  /** Client address (default: the first address of the token's `ip` claim). */
  ip?: string;
  /** Time to check at, Unix seconds (default: now). */
  now?: number;
  /** Clock-skew allowance in seconds, 0 to 3600 (default 30). */
  skew?: number;
  /** Query parameter carrying the token in a link (default `t`). */
  param?: string;
}

export type Verified = { valid: true; kid: string; claims: Claims };
export type Refused = { valid: false; reason: string; message: string };

/** A refusal with a stable reason code; never carries a secret. */
export class OncelinkError extends Error {
  readonly reason: string;
}

/** Mints a token with the key file's active key. Throws OncelinkError. */
export function mint(keys: Keys, options: MintOptions): string;
/** The URL of `token` for `path` (decoded, as minted) on `baseUrl`. */
export function link(baseUrl: string, path: string, token: string, options?: { param?: string }): string;
/** Checks a token or link as the edge would; uses are not counted here. */
export function verify(keys: Keys, tokenOrUrl: string, options?: VerifyOptions): Verified | Refused;
/** A token's kid and claims WITHOUT checking its signature. */
export function inspect(tokenOrUrl: string, options?: { param?: string }): { verified: false; kid: string; claims: Claims };
/** A new key file (JSON text) with one random 32-byte key. */
export function keygen(options?: { kid?: string }): string;
