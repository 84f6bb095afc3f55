import { describe, expect, it } from 'vitest';
import { EXEMPT_CYCLES, EXEMPT_IMPORTS, dependencyViolations, folderEdges } from '../../scripts/check-deps.js';
import type { Edge } from '../../scripts/check-deps.js';

const edge = (from: string, to: string, file = `src/${from}/a.ts`, imports = `src/${to}/b.ts`): Edge => ({ from, to, file, imports });

describe('src/ folder dependencies (scripts/check-deps.ts)', () => {
  it('has no folder cycle and no forbidden import', () => {
    expect(dependencyViolations()).toEqual([]);
  });

  it('every exemption still matches real code (remove it once the import is gone)', () => {
    const edges = folderEdges();
    for (const [a, b] of EXEMPT_CYCLES) {
      expect(edges.some((e) => e.from === a && e.to === b) && edges.some((e) => e.from === b && e.to === a), `${a} ↔ ${b} is no longer a cycle`).toBe(true);
    }
    for (const x of EXEMPT_IMPORTS) expect(edges.some((e) => e.file === x.file && e.imports === x.imports), `${x.file} no longer imports ${x.imports}`).toBe(true);
  });

  it('reports a cycle between folders, naming the files', () => {
    const v = dependencyViolations([edge('model', 'plan'), edge('plan', 'probes'), edge('probes', 'model')]);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatch(/^folder cycle model ↔ plan ↔ probes: .*src\/probes\/a\.ts → src\/model\/b\.ts/);
  });

  it('exempts exactly the named pair, not a longer cycle through it', () => {
    expect(dependencyViolations([edge('run', 'score'), edge('score', 'run')])).toEqual([]);
    expect(dependencyViolations([edge('run', 'score'), edge('score', 'plan'), edge('plan', 'run')])).toHaveLength(1);
  });

  it('forbids provenance/, formats/ and report/ from importing run/ (except the named file)', () => {
    const v = dependencyViolations([edge('provenance', 'run'), edge('report', 'run', 'src/report/html.ts', 'src/run/execute.ts'), edge('report', 'run', 'src/report/build-report.ts', 'src/run/execute.ts')]);
    expect(v).toHaveLength(2);
    expect(v[0]).toContain('provenance/ must not import run/');
    expect(v[1]).toContain('src/report/html.ts');
  });

  it('keeps formats/ a leaf: only errors.ts and util/', () => {
    expect(dependencyViolations([edge('formats', 'errors.ts'), edge('formats', 'util')])).toEqual([]);
    expect(dependencyViolations([edge('formats', 'provenance')])[0]).toContain('formats/ may import only');
  });
});
