import type { Command } from 'commander';
import type { InspectReport } from '../../model/inspect.js';
import { MODEL_OPTIONS, type ModelCliOptions } from '../option-groups.js';
import { addGroups, flag } from '../options.js';
import { formatBytes, type Io } from '../output.js';

const shape = (s: (number | string)[]) => `[${s.join(', ')}]`;

export function renderInspect(r: InspectReport): string {
  const lines: string[] = [];
  lines.push(`model folder   ${r.dir}`);
  const also = r.otherGraphs.length ? `; also ${r.otherGraphs.join(', ')}` : '';
  lines.push(r.built ? `layout         ${r.layout} (graph built from ${r.built.shards.join(', ')}${also})` : `layout         ${r.layout} (graph ${r.graph}${also})`);
  if (r.built) {
    const b = r.built;
    const dtypes = Object.entries(b.dtypes).map(([d, n]) => `${d} ×${n}`).join(', ');
    lines.push(`built graph    ${b.family} (model_type ${b.modelType}), ${b.layers} layers, weights ${dtypes}, ${b.ops} ops, built in ${Math.round(b.buildMs)} ms`);
    for (const n of b.notes) lines.push(`               ${n}`);
  }
  lines.push(`architecture   ${r.modelType ?? 'unknown'}${r.architectures.length ? ` (${r.architectures.join(', ')})` : ''}, task ${r.task}`);
  if (!r.built) lines.push(`graph          ${r.producer || 'unknown producer'}, IR ${r.irVersion}, opsets ${r.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}`);
  lines.push(`parameters     ${r.parameters.toLocaleString('en-US')}${r.externalDataFiles.length ? ` (external data: ${r.externalDataFiles.join(', ')})` : ''}`);
  const kv = r.kvCache ? `${r.kvCache.kind} cache, ${r.kvCache.layers} layers × ${r.kvCache.heads} heads × ${r.kvCache.headDim}, ${r.kvCache.dtype}` : 'no KV cache';
  lines.push(`runtime        ids ${r.idsType}, logits ${r.logitsType}, ${kv}`);
  const v = r.vocab;
  lines.push(
    `vocabulary     tokenizer ${v.tokenizer} ids; embedding ${v.embeddingRows ?? '?'} rows${v.embeddingSource ? ` (${v.embeddingSource})` : ''}${v.configVocabSize !== null ? `; config vocab_size ${v.configVocabSize}` : ''}`,
  );
  if (r.labels) lines.push(`labels         ${Object.entries(r.labels).map(([k, l]) => `${k}=${l}`).join(', ')}`);
  lines.push(`prompt format  ${r.promptFormat}`);
  lines.push('inputs');
  for (const i of r.inputs) lines.push(`  ${i.name.padEnd(28)} ${i.type.padEnd(8)} ${shape(i.shape)}`);
  lines.push('outputs');
  for (const o of r.outputs) lines.push(`  ${o.name.padEnd(28)} ${o.type.padEnd(8)} ${shape(o.shape)}`);
  lines.push('files');
  for (const f of r.files) lines.push(`  ${formatBytes(f.bytes).padStart(10)}  ${f.path}`);
  return lines.join('\n') + '\n';
}

export function printInspect(r: InspectReport, json: boolean, io: Io): void {
  io.out(json ? JSON.stringify(r, null, 2) + '\n' : renderInspect(r));
}

export function addInspectCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  const cmd = program
    .command('inspect')
    .description('show what the model folder holds: layout, architecture, I/O signature, vocabulary, files')
    .argument('<model-dir>', 'model folder (Hugging Face layout: ONNX graph, tokenizer.json, config.json)');
  addGroups(cmd, MODEL_OPTIONS, { json: flag('--json', 'machine-readable output') }).action(async (dir: string, o: ModelCliOptions & { json?: boolean }) => {
    // Heavy modules load only when a command runs, so --help stays instant.
    const { inspectModel } = await import('../../model/inspect.js');
    printInspect(await inspectModel(dir, { graph: o.graph, fromSafetensors: o.fromSafetensors, threads: o.threads }), Boolean(o.json), io);
    setCode(0);
  });
}
