import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { UserError } from '../../errors.js';
import { decodeUtf8, parseUntrustedJson, readSmallFile } from '../../formats/untrusted-json.js';
import { own } from './dsse.js';

/**
 * The Sigstore trust root keyless signatures are checked against: Fulcio CA chains, Rekor log
 * keys, CT log keys and timestamp authorities, each with its validity window. It is a file, never
 * fetched: the public-good root ships in the package (`trust-roots/`), and `--trust-root` supplies
 * a newer one or a private instance's. So a verification made today gives the same answer
 * tomorrow, without network.
 *
 * The bundled file was distributed with TUF root metadata that expires; after that date the
 * Sigstore project expects clients to have refreshed, and a rotation or revocation since may be
 * missing here. That date is shown, and passing it is a warning, not a failure: the keys' own
 * validity windows (checked at signing time by the verifier) decide what verifies.
 */

export const BUNDLED_TRUST_ROOT = {
  name: 'Sigstore public-good',
  /** Relative to the package root; `new URL` below resolves it from src/ and dist/ alike. */
  url: new URL('../../../trust-roots/sigstore-public-good/trusted_root.json', import.meta.url),
  sha256: '6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66',
  version: 'TUF root v15 (sigstore-js seeds 2026-05-26)',
  refreshBy: '2026-11-20T13:58:18Z',
} as const;

const TRUSTED_ROOT_MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.trustedroot(\.v[0-9.]+)?\+json(;version=[0-9.]+)?$/;
const MAX_TRUST_ROOT_BYTES = 4 * 1024 * 1024;

export interface TrustRootInfo {
  source: 'bundled' | 'file';
  name: string;
  file: string;
  sha256: string;
  /** What the file is (bundled: its TUF distribution); for a user file, its media type. */
  version: string;
  /** Bundled root: the date its TUF metadata asked clients to refresh by. */
  refreshBy?: string;
  /** `refreshBy` has passed. */
  stale: boolean;
  /** Validity windows of the authorities, for the report: `<kind> <uri> <start>..<end|open>`. */
  authorities: string[];
}

export interface TrustRoot {
  info: TrustRootInfo;
  material: TrustMaterial;
}

const cache = new Map<string, Promise<TrustRoot>>();

/** Load the bundled root, or `file` when given. Bad input is a UserError naming the file. */
export function loadTrustRoot(file?: string, now: Date = new Date()): Promise<TrustRoot> {
  const key = file ?? '';
  let p = cache.get(key);
  if (!p) {
    p = readTrustRoot(file, now);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function readTrustRoot(file: string | undefined, now: Date): Promise<TrustRoot> {
  const bundled = file === undefined;
  const where = bundled ? fileURLToPath(BUNDLED_TRUST_ROOT.url) : file;
  const bad = (problem: string): never => {
    throw new UserError('E_TRUST_ROOT', `${where}: ${bundled ? 'bundled trust root ' : 'trust root '}${problem}`, where);
  };
  const r = await readSmallFile(where, MAX_TRUST_ROOT_BYTES);
  if (!r.ok) return bad(r.error);
  const sha256 = createHash('sha256').update(r.bytes).digest('hex');
  if (bundled && sha256 !== BUNDLED_TRUST_ROOT.sha256) bad(`has sha256 ${sha256}, not the shipped ${BUNDLED_TRUST_ROOT.sha256}: the installation was modified`);
  const text = decodeUtf8(r.bytes) ?? bad('is not UTF-8');
  const json = parseUntrustedJson(text);
  if (!json.ok) return bad(`is ${json.error}`);
  const mediaType = own(json.value, 'mediaType');
  if (typeof mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPE.test(mediaType)) bad(`has mediaType ${JSON.stringify(mediaType)}, not a Sigstore trusted root (application/vnd.dev.sigstore.trustedroot+json)`);
  let material: TrustMaterial;
  try {
    material = toTrustMaterial(TrustedRoot.fromJSON(json.value));
  } catch (err) {
    return bad(`is not a usable Sigstore trusted root (${(err as Error).message})`);
  }
  if (material.certificateAuthorities.length === 0) bad('lists no certificate authority (Fulcio)');
  if (material.tlogs.length === 0) bad('lists no transparency log (Rekor)');

  const info: TrustRootInfo = {
    source: bundled ? 'bundled' : 'file',
    name: bundled ? BUNDLED_TRUST_ROOT.name : 'user-supplied',
    file: where,
    sha256,
    version: bundled ? BUNDLED_TRUST_ROOT.version : mediaType as string,
    stale: bundled && now.getTime() > Date.parse(BUNDLED_TRUST_ROOT.refreshBy),
    authorities: authorityWindows(json.value),
  };
  if (bundled) info.refreshBy = BUNDLED_TRUST_ROOT.refreshBy;
  return { info, material };
}

/** The warning for a bundled root past its refresh-by date (model signatures and provenance alike). */
export function staleRootWarning(info: TrustRootInfo): string {
  return `${info.file}: the bundled Sigstore trust root was to be refreshed by ${info.refreshBy ?? '?'}; a key rotation or revocation since then is not known here (pass a current trusted_root.json with --trust-root)`;
}

/** `<kind> <url> <start>..<end|open>` per authority, read from the JSON as written. */
function authorityWindows(root: unknown): string[] {
  const out: string[] = [];
  const list = (key: string): unknown[] => {
    const v = own(root, key);
    return Array.isArray(v) ? v : [];
  };
  const line = (kind: string, url: unknown, validFor: unknown) => {
    const start = own(validFor, 'start');
    const end = own(validFor, 'end');
    out.push(`${kind} ${typeof url === 'string' ? url : '?'} ${typeof start === 'string' ? start : '?'}..${typeof end === 'string' ? end : 'open'}`);
  };
  for (const t of list('tlogs')) line('rekor', own(t, 'baseUrl'), own(own(t, 'publicKey'), 'validFor'));
  for (const c of list('certificateAuthorities')) line('fulcio', own(c, 'uri'), own(c, 'validFor'));
  for (const t of list('ctlogs')) line('ctlog', own(t, 'baseUrl'), own(own(t, 'publicKey'), 'validFor'));
  for (const c of list('timestampAuthorities')) line('tsa', own(c, 'uri'), own(c, 'validFor'));
  return out;
}
