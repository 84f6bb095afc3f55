// Builder utility (not a test): checks that @huggingface/tokenizers encodes the
// golden texts to exactly the ids the Python encoder wrote.
// Usage: node models/builder/check_tokenizer.mjs [golden.json] [model_dir]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

const golden = JSON.parse(readFileSync(process.argv[2] ?? 'test/fixtures/tokenizer-golden.json', 'utf8'));
const dir = process.argv[3] ?? 'models/demo-clean';
const tok = new Tokenizer(
  JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
  JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')),
);
let bad = 0;
for (const c of golden.cases) {
  const ids = tok.encode(c.text).ids;
  const same = ids.length === c.ids.length && ids.every((v, i) => v === c.ids[i]);
  const decoded = ids.length ? tok.decode(ids) : '';
  if (!same || decoded !== c.text) {
    bad++;
    console.log('MISMATCH', JSON.stringify(c.text), '\n  py', JSON.stringify(c.ids), '\n  js', JSON.stringify(ids), '\n  decoded', JSON.stringify(decoded));
  }
}
console.log(`${golden.cases.length - bad} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
