import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import type { FileSeverity } from '../../report/schema.js';
import { MODEL_OPTIONS, PIN_OPTIONS, PROVENANCE_OPTIONS, type ProvenanceCliOptions } from '../option-groups.js';
import { addGroups, flag, pick, type Values } from '../options.js';
import type { Io } from '../output.js';
import { formatBytes } from '../output.js';
import { attestationHeadline, attestationLines, policyItem, signerState, trustRootLine } from '../../report/provenance-text.js';
import { trustAuditOptions } from '../provenance-options.js';
import { readPem, readSigningKey } from '../read-pem.js';

/**
 * Provenance commands: `verify` (static audit + pins + expected digests + model signature),
 * `pin list|update|revoke`, `attest` and `verify-attestation`.
 *
 * Pinning: `verify` records a first sight (accept-new) only when the folder passes, and updates a
 * match's lastSeen; `pin update` records the folder's contents unconditionally (it is the explicit
 * "I accept these files" step, after a mismatch too).
 *
 * Exit codes: 0 all good; 1 a finding at high or critical, a failed integrity check (pin,
 * expectation, signature, attestation) or a blocked graph; 2 bad input (thrown UserError, printed
 * by main as one line).
 */

const JSON_OUTPUT = { json: flag('--json', 'machine-readable output') };
const VERIFY_OPTIONS = { ...PROVENANCE_OPTIONS, ...pick(MODEL_OPTIONS, 'graph'), ...JSON_OUTPUT };
type VerifyCliOptions = ProvenanceCliOptions & Values<typeof VERIFY_OPTIONS>;

const SEV_LABEL: Record<FileSeverity, string> = { critical: 'CRITICAL', high: 'HIGH    ', medium: 'MEDIUM  ', low: 'LOW     ', info: 'INFO    ' };

export function addProvenanceCommands(program: Command, io: Io, setCode: (c: number) => void): void {
  addGroups(
    program
      .command('verify')
      .description('check a model folder without running it: file safety, ONNX graph, pins, expected digests, model signature')
      .argument('<model-dir>', 'model folder'),
    VERIFY_OPTIONS,
  )
    .action(async (dir: string, o: VerifyCliOptions, cmd: Command) => {
      const { verifyModel, isSerious } = await import('../../report/verify-report.js');
      const { formatPinMismatch } = await import('../../provenance/integrity/pins.js');
      const trust = await trustAuditOptions(dir, o, cmd.getOptionValueSource('pin') === 'cli');
      const { audit, report: v } = await verifyModel(dir, { ...(o.graph !== undefined ? { graphPath: o.graph } : {}), ...trust });
      if (o.json) {
        io.out(`${JSON.stringify(v, null, 2)}\n`);
      } else {
        const total = v.files.reduce((s, f) => s + f.size, 0);
        io.out(`${v.dir}\n`);
        io.out(`  files      ${v.files.length} (${formatBytes(total)})  root sha256:${v.rootDigest}  dirHash1 ${v.directoryDigest}\n`);
        io.out(`  graph      ${v.graph ?? '(none)'}${v.blocked ? `  BLOCKED: ${v.blockReason}` : ''}\n`);
        if (v.pin.status === 'mismatch') io.err(`${formatPinMismatch(audit.pin)}\n`);
        io.out(`  pin        ${v.pin.status}${v.pin.status === 'off' ? '' : `: ${v.pin.message}`}\n`);
        for (const e of v.expectations) io.out(`  expect     ${e.ok ? 'ok' : 'FAILED'}  ${e.message}\n`);
        const s = v.signature;
        io.out(`  signature  ${s.status}${s.status === 'absent' ? '' : ` (${s.method}, ${s.file})`}${s.reasons.length ? `: ${s.reasons.join('; ')}` : ''}\n`);
        if (s.keyless) {
          const k = s.keyless;
          io.out(`  signer     ${k.identity ?? '(no identity)'}  issuer ${k.issuer ?? '?'}  ${signerState(k).text}${k.signedAt ? `  signed ${k.signedAt}` : ''}${k.tlogEntries.length ? `  rekor ${k.tlogEntries.join(', ')}` : ''}\n`);
          io.out(`  trust root ${trustRootLine(k.trustRoot)}  sha256:${k.trustRoot.sha256.slice(0, 16)}…  ${k.trustRoot.file}\n`);
        }
        const t = v.training;
        if (t) {
          io.out(`  provenance ${t.status}${t.status === 'absent' ? `: ${t.reasons[0] ?? ''}` : ''}\n`);
          for (const a of t.attestations) {
            io.out(`    ${attestationHeadline(a, v.dir)}\n`);
            for (const line of attestationLines(a)) io.out(`      ${line}\n`);
          }
        }
        if (v.trustPolicy) {
          const p = policyItem(v.trustPolicy);
          io.out(`  policy     ${p.headline}\n`);
          for (const line of p.lines) io.out(`    ${line}\n`);
        }
        const shown = v.findings.filter((f) => f.severity !== 'info');
        if (shown.length) {
          io.out('  findings\n');
          for (const f of shown) io.out(`    ${SEV_LABEL[f.severity]} ${f.id}  ${f.message}\n`);
        }
        const info = v.findings.length - shown.length;
        if (info) io.out(`  (${info} informational finding${info === 1 ? '' : 's'}; --json lists them)\n`);
        const serious = v.findings.filter(isSerious);
        const why: string[] = [];
        if (serious.length) why.push(`${serious.length} finding${serious.length === 1 ? '' : 's'} at high or critical`);
        if (v.failedChecks.length) why.push(`${v.failedChecks.length} failed check${v.failedChecks.length === 1 ? '' : 's'}`);
        if (v.blocked) why.push('graph blocked');
        io.out(v.ok ? 'result: ok\n' : `result: FAILED (${why.join(', ')})\n`);
      }
      setCode(v.ok ? 0 : 1);
    });

  const pin = program.command('pin').description('list, update and revoke trust-on-first-use pins of model folders');

  addGroups(pin.command('list').description('list pinned models'), pick(PIN_OPTIONS, 'pins'), JSON_OUTPUT)
    .action(async (o: { pins?: string; json?: boolean }) => {
      const { defaultPinFile, listPins } = await import('../../provenance/integrity/pins.js');
      const file = o.pins ?? defaultPinFile();
      const entries = await listPins(file);
      if (o.json) io.out(`${JSON.stringify({ file, models: Object.fromEntries(entries.map((e) => [e.name, e.record])) }, null, 2)}\n`);
      else {
        io.out(`${file}: ${entries.length} pinned model${entries.length === 1 ? '' : 's'}\n`);
        for (const e of entries) {
          io.out(`  ${e.name}\n    ${Object.keys(e.record.files).length} files  root sha256:${e.record.rootDigest}  first seen ${e.record.firstSeen}${e.record.lastSeen ? `  last seen ${e.record.lastSeen}` : ''}${e.record.note ? `  (${e.record.note})` : ''}\n`);
        }
      }
      setCode(0);
    });

  addGroups(
    pin.command('update').description("record the folder's current contents as its pin (accepts a change after a mismatch)").argument('<model-dir>'),
    pick(PIN_OPTIONS, 'pins', 'pinName'),
  )
    .option('--note <text>', 'a note stored with the pin')
    .action(async (dir: string, o: { pins?: string; pinName?: string; note?: string }) => {
      const { defaultPinFile, pinModelFolder, summariseDiff } = await import('../../provenance/integrity/pins.js');
      const r = await pinModelFolder(dir, { file: o.pins ?? defaultPinFile(), ...(o.pinName !== undefined ? { name: o.pinName } : {}), ...(o.note !== undefined ? { note: o.note } : {}) });
      const m = r.manifest;
      const changes = r.diff.changed.length + r.diff.missing.length + r.diff.extra.length;
      io.out(
        r.previous
          ? `updated pin ${JSON.stringify(r.name)} in ${r.file}: ${changes ? summariseDiff(r.diff) : 'no change'}\n`
          : `pinned ${m.files.length} files of ${m.dir} as ${JSON.stringify(r.name)} in ${r.file}\n`,
      );
      for (const c of r.diff.changed) io.out(`  changed  ${c.path}\n`);
      for (const p of r.diff.missing) io.out(`  removed  ${p}\n`);
      for (const p of r.diff.extra) io.out(`  added    ${p}\n`);
      setCode(0);
    });

  addGroups(pin.command('revoke').description('remove a pin (the next verify treats the model as unknown)').argument('<name>'), pick(PIN_OPTIONS, 'pins'))
    .action(async (name: string, o: { pins?: string }) => {
      const { defaultPinFile, revokePin } = await import('../../provenance/integrity/pins.js');
      const file = o.pins ?? defaultPinFile();
      const rec = await revokePin(name, file);
      io.out(`revoked pin ${JSON.stringify(name)} (${Object.keys(rec.files).length} files, first seen ${rec.firstSeen}) from ${file}\n`);
      setCode(0);
    });

  program
    .command('attest')
    .description('sign an in-toto test-result attestation of a scan report (DSSE, ECDSA P-256 or Ed25519)')
    .requiredOption('--report <file>', 'report.json written by a scan')
    .requiredOption('--key <pem>', 'private key (PEM)')
    .option('--name <name>', 'subject name (default: the model folder name from the report)')
    .option('--out <file>', 'write the envelope here (default: stdout)')
    .action(async (o: { report: string; key: string; name?: string; out?: string }) => {
      const { attestReport } = await import('../../attest/attestation.js');
      // Every input is checked before anything is signed: the key, then the report (by its schema).
      const keyPem = await readSigningKey(o.key);
      const { loadReport } = await import('../../report/load-report.js');
      const rep = await loadReport(o.report);
      const path = await import('node:path');
      const env = await attestReport({
        reportPath: o.report,
        keyPem,
        subject: { name: o.name ?? path.basename(rep.model.dir), rootDigest: rep.model.rootDigest, directoryDigest: rep.model.directoryDigest },
        packs: rep.packs.map((p) => ({ name: p.name, digest: p.digest })),
      });
      const json = `${JSON.stringify(env, null, 2)}\n`;
      if (o.out) {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(o.out, json).catch((err: NodeJS.ErrnoException) => {
          throw new UserError('E_WRITE', `${o.out}: cannot write (${err.code ?? err.message})`, o.out);
        });
        io.out(`wrote ${o.out}\n`);
      } else io.out(json);
      setCode(0);
    });

  program
    .command('verify-attestation')
    .description('verify a scan attestation against its report and the signer\'s public key')
    .argument('<envelope>', 'attestation (DSSE envelope JSON)')
    .requiredOption('--report <file>', 'the report.json the attestation is about')
    .requiredOption('--key <pem>', "signer's public key (PEM)")
    .option('--model <dir>', 'also check that this model folder has the attested digests')
    .option('--json', 'machine-readable output')
    .action(async (envelope: string, o: { report: string; key: string; model?: string; json?: boolean }) => {
      const { verifyAttestation } = await import('../../attest/attestation.js');
      const v = await verifyAttestation({ envelopePath: envelope, reportPath: o.report, publicKeyPem: await readPem(o.key, 'public key'), ...(o.model !== undefined ? { modelDir: o.model } : {}) });
      if (o.json) io.out(`${JSON.stringify(v, null, 2)}\n`);
      else if (v.ok) io.out(`ok: ${envelope} attests ${v.result} for ${v.subject?.name} (root sha256:${v.subject?.sha256}), signed by key ${v.keyid?.slice(0, 16)}…\n`);
      else {
        io.out(`FAILED: ${envelope}: ${v.reasons[0]}\n`);
        for (const r of v.reasons.slice(1)) io.out(`  also: ${r}\n`);
      }
      setCode(v.ok ? 0 : 1);
    });
}
