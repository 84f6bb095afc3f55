import { UserError } from '../errors.js';
import { decodeUtf8, readSmallFile } from '../formats/untrusted-json.js';

/** Keys and certificates are a few kilobytes. */
const MAX_PEM_BYTES = 1024 * 1024;

/**
 * Read a PEM key or certificate named on the command line: a regular file (a FIFO would block),
 * bounded, UTF-8, with a PEM header. `what` names it in the one-line error ("public key").
 */
export async function readPem(file: string, what: string): Promise<string> {
  const r = await readSmallFile(file, MAX_PEM_BYTES);
  if (!r.ok) throw new UserError('E_PEM_READ', `${file}: ${what} ${r.error}`, file);
  const text = decodeUtf8(r.bytes);
  if (text === undefined || !text.includes('-----BEGIN')) throw new UserError('E_PEM_READ', `${file}: ${what} is not a PEM file`, file);
  return text;
}

/** A private key for `--attest` / `attest --key`, read and parsed before any work starts. */
export async function readSigningKey(file: string): Promise<string> {
  const pem = await readPem(file, 'private key');
  const { checkSigningKey } = await import('../attest/attestation.js');
  checkSigningKey(pem, file);
  return pem;
}
