/**
 * Regenerates test/fixtures/hostile/ from the case list in test/provenance/helpers/hostile-corpus.ts.
 * Run: npx tsx scripts/make-hostile-corpus.ts   (then commit the outputs)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHostileCorpus } from '../test/provenance/helpers/hostile-corpus.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'test', 'fixtures', 'hostile');
const written = await writeHostileCorpus(out);
console.log(`wrote ${written.length} files to ${path.relative(root, out)}`);
