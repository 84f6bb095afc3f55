import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { UserError } from '../errors.js';
import {
  HEX64,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V1,
  decodeBase64Strict,
  isRecord,
  keyAlgorithm,
  keyHint,
  own,
  parsePrivateKey,
  parsePublicKey,
  preAuthEncoding,
  signEnvelope,
  verifyBytes,
} from '../provenance/integrity/dsse.js';
import type { DsseEnvelope } from '../provenance/integrity/dsse.js';
import { buildManifest, MODEL_SIGNING_IGNORE } from '../provenance/integrity/manifest.js';
import { decodeUtf8, parseUntrustedJson, readSmallFile } from '../formats/untrusted-json.js';
import { readReportFile, upgradeReport } from '../report/load-report.js';
import type { ScanReport, VerdictLevel } from '../report/schema.js';
import { issuePath } from '../report/validate.js';
import { TEST_RESULT_PREDICATE, TestResultStatementSchema, type TestResultLevel, type TestResultStatement } from './statement.js';

export { TEST_RESULT_PREDICATE, type TestResultLevel } from './statement.js';

/**
 * A signed statement of a scan result: "trigger-scan scanned the model with these digests, with
 * these probe packs, and the result was PASSED/WARNED/FAILED; the full report has this digest".
 *
 * Format: a DSSE envelope (payloadType application/vnd.in-toto+json) over an in-toto Statement v1
 * with predicate https://in-toto.io/attestation/test-result/v0.1. The subject is the model: its
 * model_signing root digest as `sha256` and its name-binding directory digest as `dirHash1`.
 * `configuration` holds ResourceDescriptors of the report file and of every probe pack, so the
 * attestation fails to verify once the report is edited.
 *
 * Keys: ECDSA P-256 (SHA-256, DER; what model_signing tooling accepts) or Ed25519; P-384/P-521
 * also work with their curve hashes. The keyid is the sha256 hex of the public key's SPKI PEM.
 */

/** Marks which configuration entry is the report (its name is the report's file name). */
export const REPORT_ANNOTATION = 'trigger-scan/report';
export const MODEL_SIGNATURE_ANNOTATION = 'trigger-scan/model-signature';
export const TRAINING_PROVENANCE_ANNOTATION = 'trigger-scan/training-provenance';
export const TRUST_POLICY_ANNOTATION = 'trigger-scan/trust-policy';
const MAX_ENVELOPE_BYTES = 64 * 1024 * 1024;
const MAX_TEST_IDS = 1000;

// A partial scan passed nothing: what did not run is not known to be clean.
const RESULT_OF: Record<VerdictLevel, TestResultLevel> = { clean: 'PASSED', suspicious: 'WARNED', flagged: 'FAILED', partial: 'WARNED' };

export interface AttestReportInput {
  reportPath: string;
  /** PEM private key (EC P-256 or Ed25519). */
  keyPem: string;
  subject: { name: string; rootDigest: string; directoryDigest: string };
  /** Probe packs used; digests as `sha256:<hex>` or bare hex. */
  packs: { name: string; digest: string }[];
}

type ResourceDescriptor = TestResultStatement['predicate']['configuration'][number];

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function packDigest(d: string): string | undefined {
  const m = /^(?:sha256:)?([0-9a-fA-F]{64})$/.exec(d);
  return m ? (m[1] as string).toLowerCase() : undefined;
}

/** The report's bytes (what the attestation digests) and its content, validated by the report schema. */
async function readReport(reportPath: string): Promise<{ bytes: Buffer; report: ScanReport }> {
  const { bytes, raw } = await readReportFile(reportPath);
  return { bytes, report: upgradeReport(raw, reportPath).report };
}

const testIds = (report: ScanReport, level: 'flagged' | 'suspicious'): string[] => report.tests.filter((t) => t.level === level).map((t) => t.key).slice(0, MAX_TEST_IDS);

/**
 * The private key an attestation will be signed with, checked: a readable PEM private key of a
 * supported algorithm. `source` (the key file) starts the error line; call this before a scan so a
 * bad key fails before the work, not after it.
 */
export function checkSigningKey(keyPem: string, source?: string): KeyObject {
  const at = source === undefined ? '' : `${source}: `;
  const key = parsePrivateKey(keyPem);
  if ('error' in key) throw new UserError('E_ATTEST_KEY', `${at}signing key is not a readable PEM private key (${key.error})`, source);
  const alg = keyAlgorithm(key);
  if ('error' in alg) throw new UserError('E_ATTEST_KEY', `${at}signing key: ${alg.error}`, source);
  return key;
}

/** Build and sign the attestation; returns the DSSE envelope (write it as JSON). */
export async function attestReport(input: AttestReportInput): Promise<DsseEnvelope> {
  const { subject } = input;
  for (const [k, v] of [['rootDigest', subject.rootDigest], ['directoryDigest', subject.directoryDigest]] as const) {
    if (!HEX64.test(v)) throw new UserError('E_ATTEST_INPUT', `attestation subject ${k} must be 64 lowercase hex digits, got ${JSON.stringify(v)}`);
  }
  const key = checkSigningKey(input.keyPem);

  const { bytes, report } = await readReport(input.reportPath);
  const result = RESULT_OF[report.verdict.level];

  const configuration: ResourceDescriptor[] = [{ name: path.basename(input.reportPath), digest: { sha256: sha256Hex(bytes) }, annotations: { kind: REPORT_ANNOTATION } }];
  for (const p of input.packs) {
    const d = packDigest(p.digest);
    if (!d) throw new UserError('E_ATTEST_INPUT', `pack ${JSON.stringify(p.name)} digest ${JSON.stringify(p.digest)} is not a sha256 digest`);
    configuration.push({ name: p.name, digest: { sha256: d }, annotations: { kind: 'trigger-scan/probe-pack' } });
  }
  // Link the provenance the scan checked, by digest: what was verified is pinned down exactly.
  const prov = report.provenance;
  if (prov?.signature.sha256) {
    configuration.push({ name: path.basename(prov.signature.file), digest: { sha256: prov.signature.sha256 }, annotations: { kind: MODEL_SIGNATURE_ANNOTATION, status: prov.signature.status, method: prov.signature.method } });
  }
  for (const a of prov?.training?.attestations ?? []) {
    configuration.push({ name: path.basename(a.file), digest: { sha256: a.sha256 }, annotations: { kind: TRAINING_PROVENANCE_ANNOTATION, status: a.signature.status, bound: String(a.bound) } });
  }
  if (prov?.trustPolicy) {
    configuration.push({ name: path.basename(prov.trustPolicy.file), digest: { sha256: prov.trustPolicy.sha256 }, annotations: { kind: TRUST_POLICY_ANNOTATION, matched: prov.trustPolicy.matched } });
  }
  const predicate: TestResultStatement['predicate'] = { result, configuration };
  const failedTests = testIds(report, 'flagged');
  const warnedTests = testIds(report, 'suspicious');
  if (failedTests.length) predicate.failedTests = failedTests;
  if (warnedTests.length) predicate.warnedTests = warnedTests;
  const statement: TestResultStatement = {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: subject.name, digest: { sha256: subject.rootDigest, dirHash1: subject.directoryDigest } }],
    predicateType: TEST_RESULT_PREDICATE,
    predicate,
  };
  return signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement), 'utf8'), key);
}

export interface VerifyAttestationInput {
  envelopePath: string;
  reportPath: string;
  publicKeyPem: string;
  /** When given, the model folder's digests must equal the subject's. */
  modelDir?: string;
}

export interface AttestationVerification {
  ok: boolean;
  /** Every failed check, one line each; empty when ok. */
  reasons: string[];
  result?: TestResultLevel;
  subject?: { name: string; sha256: string; dirHash1: string };
  keyid?: string;
}

/**
 * Check an attestation against the report it names and a public key: the signature over the
 * exact payload bytes, payload type, statement type, predicate type, the report's digest (so an
 * edited report fails) and that the result still matches the report's verdict. Unreadable inputs
 * throw UserError; everything about the attestation's content is a reason.
 */
export async function verifyAttestation(input: VerifyAttestationInput): Promise<AttestationVerification> {
  const reasons: string[] = [];
  const out: AttestationVerification = { ok: false, reasons };
  const key = parsePublicKey(input.publicKeyPem);
  if ('error' in key) throw new UserError('E_ATTEST_KEY', `public key is not readable PEM (${key.error})`);
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const env = await readSmallFile(input.envelopePath, MAX_ENVELOPE_BYTES);
  if (!env.ok) throw new UserError('E_ATTEST_READ', `${input.envelopePath}: attestation ${env.error}`, input.envelopePath);
  const envText = decodeUtf8(env.bytes);
  const envJson = envText === undefined ? { ok: false as const, error: 'not UTF-8' } : parseUntrustedJson(envText);
  if (!envJson.ok) {
    reasons.push(`${input.envelopePath}: attestation is ${envJson.error}`);
    return out;
  }
  // Accept a bare envelope or one wrapped in a Sigstore bundle.
  const envelope = isRecord(own(envJson.value, 'dsseEnvelope')) ? own(envJson.value, 'dsseEnvelope') : envJson.value;
  const payloadType = own(envelope, 'payloadType');
  const payload = decodeBase64Strict(own(envelope, 'payload'));
  const sigs = own(envelope, 'signatures');
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) reasons.push(`payloadType ${JSON.stringify(payloadType)} is not ${IN_TOTO_PAYLOAD_TYPE}`);
  if (!payload) {
    reasons.push('payload is missing or not canonical base64');
    return out;
  }
  const hint = keyHint(pub);
  out.keyid = hint;
  const list = Array.isArray(sigs) ? sigs : [];
  const pae = preAuthEncoding(typeof payloadType === 'string' ? payloadType : '', payload);
  const good = list.some((s) => {
    const sig = decodeBase64Strict(own(s, 'sig'));
    const kid = own(s, 'keyid');
    if (!sig) return false;
    if (typeof kid === 'string' && kid !== '' && kid !== hint) return false;
    return verifyBytes(pub, pae, sig);
  });
  if (!good) reasons.push(list.length === 0 ? 'envelope has no signatures' : 'no signature verifies with the given public key (altered payload, or signed by another key)');

  const text = decodeUtf8(payload);
  const st = text === undefined ? { ok: false as const, error: 'not UTF-8' } : parseUntrustedJson(text);
  if (!st.ok) {
    reasons.push(`payload is ${st.error}`);
    return out;
  }
  const statement = st.value;
  if (own(statement, '_type') !== IN_TOTO_STATEMENT_V1) reasons.push(`statement _type is not ${IN_TOTO_STATEMENT_V1}`);
  if (own(statement, 'predicateType') !== TEST_RESULT_PREDICATE) reasons.push(`predicateType ${JSON.stringify(own(statement, 'predicateType'))} is not ${TEST_RESULT_PREDICATE}`);
  const subjects = own(statement, 'subject');
  const subj = Array.isArray(subjects) && subjects.length === 1 ? subjects[0] : undefined;
  const sName = own(subj, 'name');
  const sSha = own(own(subj, 'digest'), 'sha256');
  const sDir = own(own(subj, 'digest'), 'dirHash1');
  if (typeof sName !== 'string' || typeof sSha !== 'string' || !HEX64.test(sSha) || typeof sDir !== 'string' || !HEX64.test(sDir)) {
    reasons.push('statement must have one subject with sha256 and dirHash1 digests');
  } else {
    out.subject = { name: sName, sha256: sSha, dirHash1: sDir };
  }
  const predicate = own(statement, 'predicate');
  const result = own(predicate, 'result');
  if (result === 'PASSED' || result === 'WARNED' || result === 'FAILED') out.result = result;
  else reasons.push(`predicate result ${JSON.stringify(result)} is not PASSED, WARNED or FAILED`);

  const config = own(predicate, 'configuration');
  const reportEntry = Array.isArray(config) ? config.find((c) => own(own(c, 'annotations'), 'kind') === REPORT_ANNOTATION) : undefined;
  const want = own(own(reportEntry, 'digest'), 'sha256');
  const { bytes, report } = await readReport(input.reportPath);
  const have = sha256Hex(bytes);
  if (typeof want !== 'string') reasons.push('attestation names no report digest');
  else if (want !== have) reasons.push(`${input.reportPath}: report digest ${have.slice(0, 16)}… is not the attested ${want.slice(0, 16)}… (the report was changed after it was attested)`);
  const level = report.verdict.level;
  if (out.result && RESULT_OF[level] !== out.result) reasons.push(`attested result ${out.result} does not match the report verdict ${level}`);

  // Anything else the statement's schema requires; the checks above name the common failures.
  const shape = TestResultStatementSchema.safeParse(statement);
  if (!shape.success && reasons.length === 0) reasons.push(`statement is not a test-result statement: "${issuePath(shape.error.issues[0]!.path)}": ${shape.error.issues[0]!.message}`);

  if (input.modelDir !== undefined && out.subject) {
    const m = await buildManifest(input.modelDir, { ignore: MODEL_SIGNING_IGNORE });
    if (m.rootDigest !== out.subject.sha256 || m.directoryDigest !== out.subject.dirHash1) {
      reasons.push(`${input.modelDir}: model digests (root ${m.rootDigest.slice(0, 16)}…) are not the attested subject's (root ${out.subject.sha256.slice(0, 16)}…)`);
    }
  }
  out.ok = reasons.length === 0;
  return out;
}
