/**
 * The folder dependency rules of src/, checked by `npm test` (test/architecture) and runnable alone:
 *   npx tsx scripts/check-deps.ts
 *
 * 1. No cycle between top-level folders of src/ (files directly in src/, such as errors.ts, count as
 *    their own unit). Data flows one way: load → plan → run → score → report.
 * 2. `formats/` (hardened parsers of hostile files) imports nothing of the project but errors.ts and
 *    util/: a parser must not depend on what uses it.
 * 3. `provenance/`, `formats/` and `report/` never import `run/`: file checks and reports must not
 *    need the inference engine.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src');

const FORBIDDEN: readonly { from: string; to: string; why: string }[] = [
  { from: 'provenance', to: 'run', why: 'file checks must not need the inference engine' },
  { from: 'formats', to: 'run', why: 'parsers must not need the inference engine' },
  { from: 'report', to: 'run', why: 'reports are rendered from report data, not engine objects' },
];
const FORMATS_MAY_IMPORT = new Set(['formats', 'errors.ts', 'util']);

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listTs(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The top-level unit of a file under src/: its first folder, or the file name itself. */
function unitOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0] as string;
}

export interface Edge {
  from: string;
  to: string;
  /** The importing file and the file it imports, relative to the repo. */
  file: string;
  imports: string;
}

/**
 * Import edges of src/ between different top-level units, one per importing file and imported
 * file (static imports, `import type` and dynamic `import()` alike).
 */
export function folderEdges(): Edge[] {
  const edges = new Map<string, Edge>();
  for (const file of listTs(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), ref.fileName).replace(/\.js$/, '.ts');
      if (!target.startsWith(SRC + path.sep)) continue;
      const from = unitOf(file);
      const to = unitOf(target);
      if (from === to) continue;
      const e = { from, to, file: path.relative(ROOT, file).split(path.sep).join('/'), imports: path.relative(ROOT, target).split(path.sep).join('/') };
      edges.set(`${e.file}\u0000${e.imports}`, e);
    }
  }
  return [...edges.values()].sort((a, b) => (a.file + a.imports < b.file + b.imports ? -1 : 1));
}

/** Strongly connected components with more than one folder (Tarjan). */
function cycles(edges: readonly Edge[]): string[][] {
  const adj = new Map<string, string[]>();
  for (const e of edges) {
    adj.set(e.from, [...(adj.get(e.from) ?? []), e.to]);
    if (!adj.has(e.to)) adj.set(e.to, []);
  }
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of adj.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of adj.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Every broken rule, one line each; empty when the layout is clean. */
export function dependencyViolations(edges: readonly Edge[] = folderEdges()): string[] {
  const problems: string[] = [];
  const show = (e: Edge): string => `${e.file} → ${e.imports}`;
  for (const comp of cycles(edges)) {
    const inside = edges.filter((e) => comp.includes(e.from) && comp.includes(e.to));
    const firstPerPair = [...new Map(inside.map((e) => [`${e.from} → ${e.to}`, e])).entries()].map(([pair, e]) => `${pair} (${show(e)})`);
    problems.push(`folder cycle ${comp.join(' ↔ ')}: ${firstPerPair.join('; ')}`);
  }
  for (const e of edges) {
    const rule = FORBIDDEN.find((r) => r.from === e.from && r.to === e.to);
    if (rule) problems.push(`${e.from}/ must not import ${e.to}/ (${rule.why}): ${show(e)}`);
    if (e.from === 'formats' && !FORMATS_MAY_IMPORT.has(e.to)) problems.push(`formats/ may import only errors.ts and util/: ${show(e)}`);
  }
  return problems;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const problems = dependencyViolations();
  for (const p of problems) console.error(p);
  if (problems.length === 0) console.log('src/ folder dependencies: no cycles, no forbidden imports');
  process.exitCode = problems.length ? 1 : 0;
}
