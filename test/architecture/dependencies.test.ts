import { describe, expect, it } from 'vitest';
import { dependencyViolations } from '../../scripts/check-deps.js';
import type { Edge } from '../../scripts/check-deps.js';

const edge = (from: string, to: string, file = `src/${from}/a.ts`, imports = `src/${to}/b.ts`): Edge => ({ from, to, file, imports });

describe('src/ folder dependencies (scripts/check-deps.ts)', () => {
  it('has no folder cycle and no forbidden import', () => {
    expect(dependencyViolations()).toEqual([]);
  });

  it('reports a cycle between folders, naming the files', () => {
    const v = dependencyViolations([edge('model', 'plan'), edge('plan', 'probes'), edge('probes', 'model')]);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatch(/^folder cycle model ↔ plan ↔ probes: .*src\/probes\/a\.ts → src\/model\/b\.ts/);
  });

  it('reports a two-folder cycle as well as a longer one', () => {
    expect(dependencyViolations([edge('run', 'score'), edge('score', 'run')])).toHaveLength(1);
    expect(dependencyViolations([edge('run', 'score'), edge('score', 'plan'), edge('plan', 'run')])).toHaveLength(1);
  });

  it('forbids provenance/, formats/ and report/ from importing run/', () => {
    const v = dependencyViolations([edge('provenance', 'run'), edge('report', 'run', 'src/report/html.ts', 'src/run/runner.ts')]);
    expect(v).toHaveLength(2);
    expect(v[0]).toContain('provenance/ must not import run/');
    expect(v[1]).toContain('src/report/html.ts');
  });

  it('keeps formats/ a leaf: only errors.ts and util/', () => {
    expect(dependencyViolations([edge('formats', 'errors.ts'), edge('formats', 'util')])).toEqual([]);
    expect(dependencyViolations([edge('formats', 'provenance')])[0]).toContain('formats/ may import only');
  });
});
