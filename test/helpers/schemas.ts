import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { REPO } from './paths.js';

/** An ajv validator for a committed `schemas/<file>`: what a consumer of the documents would use. */
export function committedValidator(file: string): ValidateFunction {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  return ajv.compile(JSON.parse(readFileSync(path.join(REPO, 'schemas', file), 'utf8')));
}
