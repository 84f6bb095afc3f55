/**
 * A test-only signer that writes OpenSSF model_signing v1.x signatures (`model.sig`) from the
 * spec, independently of the verifier in src/provenance: Sigstore bundle v0.3 → DSSE envelope →
 * in-toto Statement v1 with predicate https://model_signing/signature/v1.0, resources sorted in
 * Python PurePosixPath order, root = sha256 over the raw digests, ECDSA with the curve's hash.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export type Curve = 'P-256' | 'P-384' | 'P-521';
const NODE_CURVE: Record<Curve, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };
const HASH: Record<Curve, string> = { 'P-256': 'sha256', 'P-384': 'sha384', 'P-521': 'sha512' };

export function ecKeys(curve: Curve): { privateKey: KeyObject; publicKey: KeyObject; publicPem: string; privatePem: string; curve: Curve } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: NODE_CURVE[curve] });
  return {
    privateKey,
    publicKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    curve,
  };
}

const DEFAULT_IGNORES = ['.git', '.gitattributes', '.github', '.gitignore'];

function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, rel))) {
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(path.join(dir, r)).isDirectory()) out.push(...walk(dir, r));
    else out.push(r);
  }
  return out;
}

/** PurePosixPath order: component-wise by code point. */
function posixOrder(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] as string;
    const y = pb[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

export interface SignOptions {
  /** Extra ignore paths recorded in the payload (model.sig is always added). */
  ignorePaths?: string[];
  /** 'files' (default) or 'shards' with this shard size. */
  shardSize?: number;
  /** Mutate the statement before it is serialised (for tampering tests). */
  editStatement?: (s: Record<string, unknown>) => void;
  /** Material: key hint (default), or a certificate chain (DER, leaf first). */
  certificateChain?: Buffer[];
  /** Emit a v1.0.x-style bundle that embeds the public key. */
  legacyRawKey?: boolean;
}

export function signModelFolder(dir: string, key: { privateKey: KeyObject; curve: Curve }, opts: SignOptions = {}): string {
  const ignore = [...(opts.ignorePaths ?? []), 'model.sig', ...DEFAULT_IGNORES];
  const files = walk(dir)
    .filter((f) => !ignore.some((i) => f === i || f.startsWith(`${i}/`)))
    .sort(posixOrder);
  const resources: { name: string; algorithm: string; digest: string }[] = [];
  for (const f of files) {
    const bytes = readFileSync(path.join(dir, f));
    if (opts.shardSize) {
      for (let s = 0; s < Math.max(bytes.length, 1); s += opts.shardSize) {
        const e = Math.min(bytes.length, s + opts.shardSize);
        resources.push({ name: `${f}:${s}:${e}`, algorithm: 'sha256', digest: createHash('sha256').update(bytes.subarray(s, e)).digest('hex') });
        if (bytes.length === 0) break;
      }
    } else {
      resources.push({ name: f, algorithm: 'sha256', digest: createHash('sha256').update(bytes).digest('hex') });
    }
  }
  const root = createHash('sha256');
  for (const r of resources) root.update(Buffer.from(r.digest, 'hex'));
  const serialization: Record<string, unknown> = opts.shardSize
    ? { method: 'shards', hash_type: 'sha256', shard_size: opts.shardSize, allow_symlinks: false, ignore_paths: ignore }
    : { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ignore };
  const statement: Record<string, unknown> = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: path.basename(dir), digest: { sha256: root.digest('hex') } }],
    predicateType: 'https://model_signing/signature/v1.0',
    predicate: { serialization, resources },
  };
  opts.editStatement?.(statement);
  const body = Buffer.from(JSON.stringify(statement, null, 2));
  const type = 'application/vnd.in-toto+json';
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${body.length} `), body]);
  const sig = sign(HASH[key.curve], pae, { key: key.privateKey, dsaEncoding: 'der' });
  const pubPem = createPublicKey(key.privateKey).export({ type: 'spki', format: 'pem' }) as string;
  const verificationMaterial = opts.certificateChain
    ? { x509CertificateChain: { certificates: opts.certificateChain.map((c) => ({ rawBytes: c.toString('base64') })) }, tlogEntries: [] }
    : opts.legacyRawKey
      ? { publicKey: { rawBytes: Buffer.from(pubPem).toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256' } }
      : { publicKey: { hint: createHash('sha256').update(pubPem).digest('hex') }, tlogEntries: [] };
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial,
    dsseEnvelope: { payload: body.toString('base64'), payloadType: type, signatures: [{ sig: sig.toString('base64'), keyid: '' }] },
  });
}
