import { type KeyObject, createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';

/**
 * DSSE (Dead Simple Signing Envelope) v1 and the key handling shared by model-signing
 * verification and scan attestations. Everything is node:crypto; no Sigstore client is needed
 * for the key-based methods.
 *
 * DSSE signs raw bytes, never re-serialised JSON: the signature covers
 * PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body, lengths as decimal byte
 * counts. So a verifier must check the signature over the *decoded payload bytes* and parse
 * those same bytes afterwards.
 */

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const SIGSTORE_BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface DsseSignature {
  sig: string;
  keyid?: string | null;
}

export interface DsseEnvelope {
  payloadType: string;
  /** Standard base64 of the payload bytes. */
  payload: string;
  signatures: DsseSignature[];
}

/** The pre-authentication encoding DSSE signs. */
export function preAuthEncoding(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
}

/**
 * Strict standard base64 (RFC 4648 §4, padding required as produced by Python and Node): a
 * lenient decoder that skips junk would let two different strings mean the same signature.
 * Returns undefined when `s` is not canonical base64.
 */
export function decodeBase64Strict(s: unknown): Buffer | undefined {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  return b.toString('base64') === s ? b : undefined;
}

/** sha256 hex of the key's SPKI PEM text: model_signing's key hint, and our DSSE keyid. */
export function keyHint(key: KeyObject): string {
  const pem = key.export({ type: 'spki', format: 'pem' }) as string;
  return createHash('sha256').update(pem).digest('hex');
}

export type SigningAlgorithm = 'ecdsa-p256-sha256' | 'ecdsa-p384-sha384' | 'ecdsa-p521-sha512' | 'ed25519';

const CURVE_HASH: Record<string, { hash: string; alg: SigningAlgorithm }> = {
  prime256v1: { hash: 'sha256', alg: 'ecdsa-p256-sha256' },
  secp384r1: { hash: 'sha384', alg: 'ecdsa-p384-sha384' },
  secp521r1: { hash: 'sha512', alg: 'ecdsa-p521-sha512' },
};

/**
 * The digest a key signs with. ECDSA follows the curve (model_signing's `get_ec_key_hash`:
 * P-256/SHA-256, P-384/SHA-384, P-521/SHA-512); passing `undefined` to crypto.verify would make
 * OpenSSL pick SHA-256 and reject every P-384 signature. Ed25519 takes no digest.
 */
export function keyAlgorithm(key: KeyObject): { hash: string | null; alg: SigningAlgorithm } | { error: string } {
  if (key.asymmetricKeyType === 'ed25519') return { hash: null, alg: 'ed25519' };
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    const h = CURVE_HASH[curve];
    return h ?? { error: `EC curve ${curve || 'unknown'} is not P-256, P-384 or P-521` };
  }
  return { error: `${key.asymmetricKeyType ?? 'unknown'} keys are not supported (use ECDSA P-256/P-384/P-521 or Ed25519)` };
}

export function verifyBytes(key: KeyObject, data: Uint8Array, sig: Uint8Array): boolean {
  const a = keyAlgorithm(key);
  if ('error' in a) return false;
  try {
    return a.hash === null ? verify(null, data, key, sig) : verify(a.hash, data, { key, dsaEncoding: 'der' }, sig);
  } catch {
    return false;
  }
}

export function signBytes(key: KeyObject, data: Uint8Array): Buffer {
  const a = keyAlgorithm(key);
  if ('error' in a) throw new Error(a.error);
  return a.hash === null ? sign(null, data, key) : sign(a.hash, data, { key, dsaEncoding: 'der' });
}

/** Parse a public key, or take the public half of a private key. Returns an error text instead of throwing. */
export function parsePublicKey(pem: string): KeyObject | { error: string } {
  try {
    return createPublicKey(pem);
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export function parsePrivateKey(pem: string): KeyObject | { error: string } {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export function signEnvelope(payloadType: string, body: Uint8Array, privateKey: KeyObject): DsseEnvelope {
  const pub = createPublicKey(privateKey);
  const sig = signBytes(privateKey, preAuthEncoding(payloadType, body));
  return { payloadType, payload: Buffer.from(body).toString('base64'), signatures: [{ keyid: keyHint(pub), sig: sig.toString('base64') }] };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Own-property read: keys such as `__proto__` in untrusted JSON stay data. */
export function own(o: unknown, key: string): unknown {
  return isRecord(o) && Object.hasOwn(o, key) ? o[key] : undefined;
}

export const HEX64 = /^[0-9a-f]{64}$/;
