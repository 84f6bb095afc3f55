import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { readSideJsonObject } from '../formats/json-side-file.js';
import { findCheckpoint } from './build-graph/checkpoint.js';

/**
 * Which exporter's folder convention the graph was found in; informational, the I/O adapter decides.
 * `safetensors`: no graph is used; one is built from config.json and the checkpoint.
 */
export type LayoutName = 'optimum' | 'transformers.js' | 'optimum-merged' | 'onnxruntime-genai' | 'explicit' | 'safetensors';

export interface ModelLayout {
  dir: string;
  layout: LayoutName;
  /**
   * Absolute path of the ONNX graph that will be run; for the `safetensors` layout, the checkpoint
   * file the graph is built from (what reports name as the model's graph).
   */
  graphPath: string;
  /** model.safetensors or model.safetensors.index.json when the graph is built from it. */
  checkpoint: string | undefined;
  /** Other graphs present (quantized or fp16 variants, split decoders), relative to dir. */
  otherGraphs: string[];
  tokenizerPath: string;
  tokenizerConfigPath: string | undefined;
  configPath: string | undefined;
  generationConfigPath: string | undefined;
  genaiConfigPath: string | undefined;
}

// Preference order when a folder holds several graphs: a plain decoder first (it is what
// transformers.js loads), then Optimum's merged decoder, then ORT's legacy GPT-2 export name.
const CANDIDATES: { rel: string; layout: LayoutName }[] = [
  { rel: 'model.onnx', layout: 'optimum' },
  { rel: 'onnx/model.onnx', layout: 'transformers.js' },
  { rel: 'decoder_model_merged.onnx', layout: 'optimum-merged' },
  { rel: 'onnx/decoder_model_merged.onnx', layout: 'optimum-merged' },
  { rel: 'past.onnx', layout: 'onnxruntime-genai' },
];

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

async function listGraphs(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const sub of ['', 'onnx']) {
    const entries = await readdir(path.join(dir, sub), { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isFile() && e.name.endsWith('.onnx')) found.push(path.posix.join(sub, e.name));
  }
  return found.sort();
}

/** Find the tokenizer next to the graph or up to the model folder (ORT-genai keeps fp16/past.onnx in a subfolder). */
async function findUp(name: string, from: string, root: string): Promise<string | undefined> {
  for (let d = from; ; d = path.dirname(d)) {
    const p = path.join(d, name);
    if (await isFile(p)) return p;
    if (d === root || path.dirname(d) === d || !d.startsWith(root)) return undefined;
  }
}

export interface LayoutOptions {
  /** Graph file relative to the model folder, overriding discovery. */
  graph?: string | undefined;
  /** Build the graph from config.json + safetensors even when the folder has an ONNX graph. */
  fromSafetensors?: boolean | undefined;
}

export async function findModelLayout(dirArg: string, opts: LayoutOptions = {}): Promise<ModelLayout> {
  const dir = path.resolve(dirArg);
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new UserError('E_NO_DIR', `${dirArg}: model folder not found`, dirArg);
  if (!st.isDirectory()) throw new UserError('E_NO_DIR', `${dirArg}: not a folder (give the model folder, not a file)`, dirArg);

  const graphs = await listGraphs(dir);
  let graphRel: string | undefined;
  let layout: LayoutName = 'explicit';
  let checkpoint: string | undefined;
  if (opts.graph !== undefined && opts.fromSafetensors) {
    throw new UserError('E_USAGE', '--graph and --from-safetensors exclude each other: one names a graph to run, the other builds one');
  }
  if (opts.fromSafetensors) {
    checkpoint = await findCheckpoint(dir);
    if (!checkpoint) throw new UserError('E_NO_CHECKPOINT', `${dirArg}: --from-safetensors, but there is no model.safetensors or model.safetensors.index.json`, dir);
  } else if (opts.graph !== undefined) {
    const p = path.resolve(dir, opts.graph);
    if (!p.startsWith(dir + path.sep)) throw new UserError('E_NO_GRAPH', `${opts.graph}: --graph must name a file inside ${dirArg}`, opts.graph);
    if (!(await isFile(p))) throw new UserError('E_NO_GRAPH', `${path.join(dirArg, opts.graph)}: graph file not found`, p);
    graphRel = path.relative(dir, p).split(path.sep).join('/');
  } else {
    const genaiPath = path.join(dir, 'genai_config.json');
    if (await isFile(genaiPath)) {
      const genai = await readSideJsonObject(genaiPath, 'config');
      const fname = (genai as { model?: { decoder?: { filename?: unknown } } }).model?.decoder?.filename;
      if (typeof fname === 'string' && (await isFile(path.join(dir, fname))) && !fname.includes('..')) {
        graphRel = fname;
        layout = 'onnxruntime-genai';
      }
    }
    if (graphRel === undefined) {
      for (const c of CANDIDATES) {
        if (await isFile(path.join(dir, c.rel))) {
          graphRel = c.rel;
          layout = c.layout;
          break;
        }
      }
    }
  }
  // A folder with weights but no graph: build one (what most downloaded fine-tunes are).
  if (graphRel === undefined && !checkpoint && !graphs.length) checkpoint = await findCheckpoint(dir);
  if (graphRel === undefined && !checkpoint) {
    const hint = graphs.length ? ` (found ${graphs.join(', ')}; choose one with --graph)` : '';
    throw new UserError('E_NO_GRAPH', `${dirArg}: no ONNX graph (looked for ${CANDIDATES.map((c) => c.rel).join(', ')}) and no model.safetensors to build one from${hint}`, dir);
  }
  if (checkpoint) {
    layout = 'safetensors';
    graphRel = path.basename(checkpoint);
  }
  const graphPath = path.join(dir, graphRel!);

  const tokenizerPath = await findUp('tokenizer.json', path.dirname(graphPath), dir);
  if (!tokenizerPath) throw new UserError('E_NO_TOKENIZER', `${dirArg}: no tokenizer.json next to ${graphRel} or in the model folder`, dir);
  const tokDir = path.dirname(tokenizerPath);
  const near = async (name: string) => (await isFile(path.join(tokDir, name))) ? path.join(tokDir, name) : findUp(name, path.dirname(graphPath), dir);

  const configPath = await near('config.json');
  if (checkpoint && !configPath) throw new UserError('E_NO_CONFIG', `${dirArg}: ${graphRel} without config.json; the architecture cannot be known`, dir);
  return {
    dir,
    layout,
    graphPath,
    checkpoint,
    otherGraphs: graphs.filter((g) => g !== graphRel),
    tokenizerPath,
    tokenizerConfigPath: await near('tokenizer_config.json'),
    configPath,
    generationConfigPath: await near('generation_config.json'),
    genaiConfigPath: await near('genai_config.json'),
  };
}
