import type { z } from 'zod';
import { UserError } from '../errors.js';

/**
 * Check a parsed JSON document against its zod schema. A bad document is one line naming the file
 * and the first offending field, e.g. `report.json: not a valid trigger-scan report:
 * "findings[3].level" is "maybe", not one of flagged, suspicious, pass, negative-control`.
 */
export function validateDocument<S extends z.ZodType>(schema: S, value: unknown, source: string, what: string, code = 'E_REPORT'): z.output<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new UserError(code, `${source}: not a valid ${what}: ${describeIssue(issue)}`, source);
}

/** `findings[3].trigger.ref`. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : `${out ? '.' : ''}${String(k)}`;
  return out || '(the document)';
}

const show = (x: unknown): string => {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 60 ? `${s.slice(0, 59)}…` : s;
};

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = `"${issuePath(issue.path)}"`;
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type':
      return input === undefined ? `${where} is missing` : `${where} should be ${article(issue.expected)}, not ${show(input)}`;
    case 'invalid_value':
      return `${where} is ${show(input)}, not ${issue.values.length === 1 ? show(issue.values[0]) : `one of ${issue.values.map(String).join(', ')}`}`;
    case 'too_small':
      return `${where} is ${show(input)}, below the minimum ${String(issue.minimum)}`;
    case 'too_big':
      return `${where} is ${show(input)}, above the maximum ${String(issue.maximum)}`;
    case 'invalid_format':
      return `${where} is ${show(input)}, not ${issue.format === 'regex' ? `matching ${issue.pattern ?? 'its pattern'}` : `a valid ${issue.format}`}`;
    default:
      return `${where}: ${issue.message}`;
  }
}
