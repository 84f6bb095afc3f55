import path from 'node:path';
import type { SignatureOptions } from '../provenance/audit-folder.js';
import { compileIdentity } from '../provenance/integrity/sigstore-keyless.js';
import type { ProvenanceCliOptions } from './option-groups.js';
import { readPem } from './read-pem.js';

/**
 * The signature options of the folder audit from the command line, shared by `verify` and `scan`.
 * Every input is read here, before any hashing: an unreadable key, a bad `--identity` pattern or an
 * unusable `--trust-root` fails in a second with one line.
 */
export async function signatureOptions(o: ProvenanceCliOptions): Promise<SignatureOptions | undefined> {
  const s: SignatureOptions = {};
  if (o.signature !== undefined) s.path = o.signature;
  if (o.key !== undefined) s.publicKeyPem = await readPem(o.key, 'public key');
  if (o.trustCert !== undefined) s.trustCertPem = await readPem(o.trustCert, 'trusted certificate');
  if (o.identity !== undefined || o.issuer !== undefined) {
    if (o.identity !== undefined) compileIdentity(o.identity);
    s.identity = { ...(o.identity !== undefined ? { identity: o.identity } : {}), ...(o.issuer !== undefined ? { issuer: o.issuer } : {}) };
  }
  if (o.trustRoot !== undefined) {
    const { loadTrustRoot } = await import('../provenance/integrity/trust-root.js');
    s.trustRootPath = path.resolve(o.trustRoot);
    await loadTrustRoot(s.trustRootPath);
  }
  if (o.ignorePath?.length) s.ignorePaths = o.ignorePath;
  return Object.keys(s).length ? s : undefined;
}
