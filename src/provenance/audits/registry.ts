import path from 'node:path';
import { embeddingRows } from '../../formats/onnx.js';
import { finding } from '../../formats/finding.js';
import type { Finding } from '../../formats/finding.js';
import { inspectSafetensors } from '../../formats/safetensors.js';
import { checkSafetensorsIndex } from '../../formats/safetensors-index.js';
import { isUserError } from '../../errors.js';
import { readSideJson } from '../../formats/json-side-file.js';
import { compileChatTemplate, pickTemplate, tokenText } from '../../formats/chat-template.js';
import type { AuditContext, FolderCheck } from './check.js';
import { folderTricks } from './folder-tricks.js';
import { scanModelPickles } from './pickle-files.js';
import { auditTokenizer } from './tokenizer-audit.js';

/**
 * The content audits `auditModelFolder` runs, in this order (findings are sorted worst first
 * afterwards, stable within a severity). Add a check here and it runs for every command that
 * audits a folder.
 */

const SHARED_LIBRARY = /\.(so|dll|dylib)(\.\d+)*$/i;

const folderFiles: FolderCheck = {
  id: 'folder-files',
  area: 'folder',
  run: async (ctx) => {
    const out: Finding[] = [];
    for (const f of ctx.files) {
      const base = path.posix.basename(f);
      const a = ctx.abs(f);
      if (SHARED_LIBRARY.test(base)) out.push(finding('folder.shared-library', 'high', a, `${a}: native shared library in the model folder; custom-op libraries run arbitrary code when a host registers them`));
      else if (/\.py$/i.test(base)) out.push(finding('folder.python-code', 'medium', a, `${a}: Python code in the model folder; transformers runs it with trust_remote_code (trigger-scan never does)`));
    }
    return out;
  },
};

const pickles: FolderCheck = {
  id: 'pickle',
  area: 'pickle',
  run: async (ctx) => (await scanModelPickles(ctx.dir, ctx.files)).findings,
};

const safetensors: FolderCheck = {
  id: 'safetensors',
  area: 'safetensors',
  run: async (ctx) => {
    const out: Finding[] = [];
    for (const f of ctx.files.filter((p) => /\.safetensors$/i.test(p))) out.push(...(await inspectSafetensors(ctx.abs(f))).findings);
    return out;
  },
};

const safetensorsIndex: FolderCheck = {
  id: 'safetensors-index',
  area: 'safetensors-index',
  run: async (ctx) => {
    const out: Finding[] = [];
    for (const f of ctx.files.filter((p) => /\.safetensors\.index\.json$/i.test(p))) {
      out.push(...(await checkSafetensorsIndex(path.dirname(ctx.abs(f)), { indexName: path.posix.basename(f), checkShards: true, followedLinks: new Set(ctx.followedLinks.keys()) })).findings);
    }
    return out;
  },
};

const config: FolderCheck = {
  id: 'config',
  area: 'config',
  run: async (ctx) => (await ctx.configs()).findings,
};

const onnx: FolderCheck = {
  id: 'onnx',
  area: 'onnx',
  run: async (ctx) => (await ctx.onnxAudits()).flatMap((a) => a.findings),
};

/** The tokenizer audit compares the vocabulary with the embedding rows of the main graph. */
async function mainEmbeddingRows(ctx: AuditContext): Promise<number | undefined> {
  if (ctx.mainGraph === undefined) return undefined;
  const file = path.resolve(ctx.dir, ctx.mainGraph);
  const info = (await ctx.onnxAudits()).find((a) => a.file === file)?.info;
  return info ? embeddingRows(info)?.rows : undefined;
}

const tokenizer: FolderCheck = {
  id: 'tokenizer',
  area: 'tokenizer',
  run: async (ctx) => {
    const t = await ctx.tokenizer();
    if (!t) return [];
    if (t.value === undefined) return t.findings;
    const rows = await mainEmbeddingRows(ctx);
    return [...t.findings, ...auditTokenizer(t.value, { file: ctx.abs(t.rel), ...(rows !== undefined ? { embeddingRows: rows } : {}) }).findings];
  },
};

/**
 * A chat template is a program every chat application runs: it must parse, render one user turn,
 * and stay within the rendering budget the scan uses (a template that hangs or exhausts memory
 * does so in any app that renders it). The same code as the scan's loader decides.
 */
const chatTemplate: FolderCheck = {
  id: 'chat-template',
  area: 'tokenizer',
  run: async (ctx) => {
    const out: Finding[] = [];
    for (const rel of ctx.files.filter((f) => path.posix.basename(f) === 'tokenizer_config.json')) {
      const file = ctx.abs(rel);
      const cfg = await readSideJson(file, 'config');
      if (!cfg.ok || !cfg.value || typeof cfg.value !== 'object') continue; // the config check reports it
      const c = cfg.value as Record<string, unknown>;
      const source = pickTemplate(c.chat_template);
      if (source === undefined) continue;
      try {
        compileChatTemplate(source, { bos: tokenText(c.bos_token), eos: tokenText(c.eos_token), pad: tokenText(c.pad_token) }, file);
      } catch (err) {
        if (!isUserError(err)) throw err;
        const budget = /rendering budget|character limit/.test(err.message);
        out.push(finding(budget ? 'tokenizer.chat-template-budget' : 'tokenizer.chat-template-invalid', budget ? 'critical' : 'high', file, err.message));
      }
    }
    return out;
  },
};

export const FOLDER_CHECKS: readonly FolderCheck[] = [folderFiles, folderTricks, pickles, safetensors, safetensorsIndex, config, onnx, tokenizer, chatTemplate];
