import type { Command } from 'commander';
import { visible } from '../../report/markdown.js';
import type { Io } from '../output.js';

export function addPacksCommands(program: Command, io: Io, setCode: (c: number) => void): void {
  const packs = program.command('packs').description('list, show and validate probe packs');

  packs
    .command('list')
    .description('list the built-in packs and those of installed npm packages (trigger-scan-pack-*): where each came from, its version and digest')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const { listBuiltinPacks, listNpmPacks, loadPack } = await import('../../probes/load-pack.js');
      const all = [...(await Promise.all((await listBuiltinPacks()).map((n) => loadPack(n)))), ...(await listNpmPacks())];
      const rows = all.map((p) => ({
        name: p.name, version: p.version, source: p.source, package: p.package ?? null, path: p.displayPath, digest: p.digest,
        triggers: p.triggers.length, baselines: p.baselines.length, detectors: p.detectors.length, description: p.description,
      }));
      if (o.json) io.out(JSON.stringify(rows, null, 2) + '\n');
      else {
        for (const r of rows) {
          const from = r.package ? `npm ${r.package.name}@${r.package.version}` : r.source;
          io.out(`${r.name.padEnd(20)} ${r.version.padEnd(8)} ${from.padEnd(12)} ${String(r.triggers).padStart(3)} triggers ${String(r.baselines).padStart(3)} baselines ${String(r.detectors).padStart(2)} detectors  ${r.digest.slice(0, 19)}…  ${r.description.split('\n')[0]}\n`);
        }
      }
      setCode(0);
    });

  packs
    .command('init')
    .description('scaffold an npm package for a community pack: package.json, pack.yaml, its schema, a README and `npm test` to validate it')
    .argument('<dir>', 'folder to create (it must not exist, or be empty)')
    .option('--name <slug>', 'the pack name (default: from the folder name)')
    .action(async (dir: string, o: { name?: string }) => {
      const { scaffoldPackPackage } = await import('../../probes/scaffold.js');
      const files = await scaffoldPackPackage(dir, { name: o.name });
      for (const f of files) io.out(`wrote ${f}\n`);
      io.out(`next: edit ${dir}/pack.yaml, run npm test in ${dir}, then npm publish\n`);
      setCode(0);
    });

  packs
    .command('show')
    .description('show one pack: its triggers with placements and sources, baselines and detectors')
    .argument('<name|file|npm:package>')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { json?: boolean }) => {
      const { loadPacks } = await import('../../probes/load-pack.js');
      const shown = (await loadPacks([name])).packs;
      if (o.json) io.out(JSON.stringify(shown.length === 1 ? shown[0] : shown, null, 2) + '\n');
      else for (const p of shown) {
        io.out(`${p.name} ${p.version} (${p.displayPath}, ${p.digest})\n${p.description}\n`);
        for (const t of p.triggers) io.out(`  trigger ${t.id.padEnd(24)} ${JSON.stringify(visible(t.text)).padEnd(28)} ${t.kind.padEnd(8)} ${t.placements.join(',') || 'template'}${t.negativeControl ? ' [negative control]' : ''}  ${t.source ?? ''}\n`);
        for (const b of p.baselines) io.out(`  baseline ${b.id.padEnd(24)} [${b.category}] ${b.text}\n`);
        for (const d of p.detectors) io.out(`  detector ${d.id.padEnd(24)} ${d.severity.padEnd(8)} ${d.type} ${d.pattern}\n`);
      }
      setCode(0);
    });

  packs
    .command('validate')
    .description('check pack files against the schema; exit 2 on the first error')
    .argument('<files...>')
    .action(async (files: string[]) => {
      const { loadPack } = await import('../../probes/load-pack.js');
      for (const f of files) {
        const p = await loadPack(f);
        io.out(`ok ${p.displayPath}: ${p.name} ${p.version}, ${p.triggers.length} triggers, ${p.baselines.length} baselines, ${p.detectors.length} detectors\n`);
        for (const w of p.warnings) io.out(`  warning: ${w}\n`);
      }
      setCode(0);
    });
}
