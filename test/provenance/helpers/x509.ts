/**
 * A minimal X.509 v3 certificate writer (DER by hand, signatures by node:crypto) so certificate-
 * chain tests can make a CA, intermediates and leaves with chosen validity, CA flags and EKUs.
 * Test-only; ECDSA P-256 issuers sign with SHA-256.
 */
import { createPublicKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let x = n; x > 0; x >>= 8) bytes.unshift(x & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), len(body.length), body]);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const int = (n: number) => {
  const bytes: number[] = [];
  let x = n;
  do {
    bytes.unshift(x & 0xff);
    x >>= 8;
  } while (x > 0);
  if ((bytes[0] as number) & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
};
function oid(s: string): Buffer {
  const parts = s.split('.').map(Number);
  const out = [40 * (parts[0] as number) + (parts[1] as number)];
  for (const p of parts.slice(2)) {
    const stack = [p & 0x7f];
    for (let x = p >> 7; x > 0; x >>= 7) stack.unshift(0x80 | (x & 0x7f));
    out.push(...stack);
  }
  return tlv(0x06, Buffer.from(out));
}
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (b: boolean) => tlv(0x01, Buffer.from([b ? 0xff : 0]));
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const explicit = (n: number, body: Buffer) => tlv(0xa0 + n, body);
function time(d: Date): Buffer {
  const p = (x: number) => String(x).padStart(2, '0');
  const y = d.getUTCFullYear();
  const body = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return y < 2050 ? tlv(0x17, Buffer.from(`${p(y % 100)}${body}`)) : tlv(0x18, Buffer.from(`${y}${body}`));
}
const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), utf8(cn))));

export interface CertSpec {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  issuerKey: KeyObject;
  serial?: number;
  notBefore: Date;
  notAfter: Date;
  ca?: boolean;
  /** Extended key usage OIDs; omitted when undefined. */
  eku?: string[];
}

export const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
export const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

export function makeCert(s: CertSpec): Buffer {
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const spki = (s.publicKey.type === 'public' ? s.publicKey : createPublicKey(s.publicKey)).export({ type: 'spki', format: 'der' });
  const exts: Buffer[] = [seq(oid('2.5.29.19'), bool(true), octets(s.ca ? seq(bool(true)) : seq()))];
  // keyUsage: CA → keyCertSign (bit 5) + cRLSign (bit 6); leaf → digitalSignature (bit 0)
  exts.push(seq(oid('2.5.29.15'), bool(true), octets(s.ca ? bits(Buffer.from([0x06]), 1) : bits(Buffer.from([0x80]), 7))));
  if (s.eku) exts.push(seq(oid('2.5.29.37'), octets(seq(...s.eku.map(oid)))));
  const tbs = seq(
    explicit(0, int(2)),
    int(s.serial ?? 1),
    ecdsaSha256,
    name(s.issuer),
    seq(time(s.notBefore), time(s.notAfter)),
    name(s.subject),
    spki,
    explicit(3, seq(...exts)),
  );
  const sig = sign('sha256', tbs, { key: s.issuerKey, dsaEncoding: 'der' });
  return seq(tbs, ecdsaSha256, bits(sig));
}

export function toPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
