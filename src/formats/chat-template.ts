import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { UserError } from '../errors.js';

/**
 * A chat template from tokenizer_config.json, which is hostile input: a program every chat
 * application runs. Here it is parsed, checked on the two turns the scan needs, and rendered
 * within a budget. A template is a program:
 * `{% for i in range(10**9) %}` allocates a billion-element array and aborts V8 outright, nested
 * loops of 100,000 or an output loop of 3000×3000 run for minutes. So every render counts its
 * evaluation steps and the time it takes, caps `range`, and checks the size of every string and
 * list it produces; over budget it throws `TemplateBudgetError`, which the caller turns into one
 * line naming tokenizer_config.json.
 *
 * The budget is per render and costs a counter and a clock read per AST node, which the thousands of
 * prompts a scan renders do not notice; a template that stays under it on each render but is slow
 * overall is stopped by TOTAL_RENDER_MS, which the caller keeps.
 */

export interface TemplateBudget {
  /** AST evaluations per render. */
  maxSteps: number;
  /** Wall-clock milliseconds per render. */
  maxMs: number;
  /**
   * Characters of any string the template builds, its output included; and the size of any value,
   * its characters and items counted through every nested list, dict and namespace, each time
   * they appear (a list holding one 100,000-item list 5,000 times prints as 500 million items).
   */
  maxChars: number;
  /** Items of any list it builds. */
  maxItems: number;
  /** Elements `range()` may produce. */
  maxRange: number;
}

// Real chat templates take 40-80 steps and half a millisecond per render (tests/bench); the library
// spends ~30-60 µs per loop iteration, so these caps bound a hostile render to about a second.
export const TEMPLATE_BUDGET: TemplateBudget = { maxSteps: 50_000, maxMs: 1_000, maxChars: 1_000_000, maxItems: 100_000, maxRange: 100_000 };

/** All renders of one template together (a scan renders thousands of prompts). */
export const TOTAL_RENDER_MS = 120_000;

/** Template sources larger than this are refused before parsing. */
export const MAX_TEMPLATE_CHARS = 1_000_000;

export class TemplateBudgetError extends Error {}

/**
 * Milliseconds of CPU this process has spent: the clock the time budgets read. Wall time would refuse
 * an ordinary template on a loaded machine (a render took over a second of wall time at load 17 on
 * 2 cores, killing scans 20 minutes in); a hostile template burns CPU, which this counts as before.
 */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

// The package's .d.ts re-exports its runtime through an extensionless path that NodeNext
// resolution does not follow, so the classes type as `any`; this is the part of them used here.
interface JinjaValue {
  type?: string;
  value: unknown;
}
interface InterpreterApi {
  evaluate(statement: unknown, environment: unknown): JinjaValue;
  /** Runs a statement list: every loop iteration and macro call, even with an empty body. */
  evaluateBlock(statements: unknown, environment: unknown): JinjaValue;
  run(program: unknown): JinjaValue;
}
const InterpreterBase = Interpreter as unknown as new (env: unknown) => InterpreterApi;

class BudgetedInterpreter extends InterpreterBase {
  private steps = 0;
  private readonly deadline: number;

  constructor(
    env: unknown,
    private readonly budget: TemplateBudget,
  ) {
    super(env);
    this.deadline = cpuMs() + budget.maxMs;
  }

  private step(): void {
    if (++this.steps > this.budget.maxSteps) throw new TemplateBudgetError(`more than ${this.budget.maxSteps} evaluation steps`);
    // The library spends tens of microseconds per loop iteration, so reading the clock is cheap beside it.
    if (cpuMs() > this.deadline) throw new TemplateBudgetError(`longer than ${this.budget.maxMs} ms of CPU`);
  }

  private checked(v: JinjaValue): JinjaValue {
    const x: unknown = v.value;
    if (typeof x === 'string' && x.length > this.budget.maxChars) throw new TemplateBudgetError(`a string longer than ${this.budget.maxChars} characters`);
    if (Array.isArray(x) && x.length > this.budget.maxItems) throw new TemplateBudgetError(`a list longer than ${this.budget.maxItems} items`);
    // A list may hold the same big list many times over at the cost of one reference each; printing
    // it (tojson, `{{ }}`, join) is then one library call that runs for minutes. Its deep size is
    // checked before anything can print it.
    if ((Array.isArray(x) || x instanceof Map) && this.sizeOf(v) > this.budget.maxChars) {
      throw new TemplateBudgetError(`a value of more than ${this.budget.maxChars} characters and items in all`);
    }
    return v;
  }

  /**
   * Deep sizes of lists and dicts, by the JS array or Map that holds their items: those never
   * change once built (the language has no append), so each is summed once and a list built by
   * `+` in a loop costs what the library's own copy costs. Namespaces change (`set ns.x`), so they
   * are summed afresh; they hold few entries.
   */
  private readonly sizes = new WeakMap<object, number>();

  private sizeOf(v: JinjaValue): number {
    const x: unknown = v.value;
    if (typeof x === 'string') return 1 + x.length;
    if (!(Array.isArray(x) || x instanceof Map)) return 1;
    const cacheable = v.type !== 'NamespaceValue';
    const known = cacheable ? this.sizes.get(x) : undefined;
    if (known !== undefined) return known;
    const limit = this.budget.maxChars;
    let n = 1;
    if (Array.isArray(x)) {
      for (const item of x as JinjaValue[]) if ((n += this.sizeOf(item)) > limit) break;
    } else {
      for (const [k, item] of x as Map<unknown, JinjaValue>) if ((n += String(k).length + this.sizeOf(item)) > limit) break;
    }
    if (cacheable) this.sizes.set(x, n);
    return n;
  }

  override evaluate(statement: unknown, environment: unknown): JinjaValue {
    this.step();
    return this.checked(super.evaluate(statement, environment));
  }

  override evaluateBlock(statements: unknown, environment: unknown): JinjaValue {
    this.step();
    return this.checked(super.evaluateBlock(statements, environment));
  }
}

function cappedRange(maxRange: number) {
  return (start: number, stop?: number, step = 1): number[] => {
    const [a, b] = stop === undefined ? [0, start] : [start, stop];
    if (step === 0) throw new Error('range() step must not be zero');
    const n = Math.max(0, Math.ceil((b - a) / step));
    if (!Number.isFinite(n) || n > maxRange) throw new TemplateBudgetError(`range() of ${n} elements (more than ${maxRange})`);
    return Array.from({ length: n }, (_, i) => a + i * step);
  };
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** The `strftime_now` templates call for "today" in a system prompt (%Y %m %d %b %B %H %M %%). */
function strftimeNow(format: string): string {
  const d = new Date();
  const month = MONTHS[d.getMonth()] as string;
  const parts: Record<string, string> = { Y: String(d.getFullYear()), m: pad2(d.getMonth() + 1), d: pad2(d.getDate()), b: month.slice(0, 3), B: month, H: pad2(d.getHours()), M: pad2(d.getMinutes()), '%': '%' };
  return format.replace(/%([YmdbBHM%])/g, (_m, k: string) => parts[k] as string);
}

/**
 * Renders like `Template.render`, with the same globals (true/false/none and their capitalised
 * forms, raise_exception, range, strftime_now), inside the budget.
 */
export function renderWithBudget(tpl: Template, items: Record<string, unknown>, budget: TemplateBudget = TEMPLATE_BUDGET): string {
  const env = new Environment() as { set(name: string, value: unknown): unknown };
  const globals: Record<string, unknown> = {
    false: false,
    true: true,
    none: null,
    False: false,
    True: true,
    None: null,
    raise_exception: (message: unknown) => {
      throw new Error(String(message));
    },
    range: cappedRange(budget.maxRange),
    strftime_now: strftimeNow,
    ...items,
  };
  for (const [k, v] of Object.entries(globals)) env.set(k, v);
  const out = new BudgetedInterpreter(env, budget).run((tpl as { parsed: unknown }).parsed).value;
  return typeof out === 'string' ? out : String(out);
}

/** A token setting in tokenizer_config.json is either a string or an AddedToken-like object. */
export function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** tokenizer_config.json may hold one template or a list of named ones; the 'default' one renders chats. */
export function pickTemplate(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v.find((t) => t && typeof t === 'object' && (t as { name?: unknown }).name === 'default') as { template?: unknown } | undefined;
    return typeof named?.template === 'string' ? named.template : undefined;
  }
  return undefined;
}

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplate {
  /** Renders with the generation prompt; throws a UserError naming the file when the template fails or is over budget. */
  render(messages: ChatMessage[]): string;
  /** Whether the template accepts a system turn (some reject it). */
  systemRole: boolean;
}

/**
 * Parse and check a chat template the way the scan uses it: it must parse, render a single user
 * turn, and stay within the budget on every render (TOTAL_RENDER_MS across all of them). Every
 * failure is a UserError with one line naming `file`; budget failures say "rendering budget".
 */
export function compileChatTemplate(source: string, tokens: { bos?: string | undefined; eos?: string | undefined; pad?: string | undefined }, file: string): ChatTemplate {
  if (source.length > MAX_TEMPLATE_CHARS) throw new UserError('E_TEMPLATE', `${file}: chat_template of ${source.length} characters is over the ${MAX_TEMPLATE_CHARS}-character limit`, file);
  let tpl: Template;
  try {
    tpl = new Template(source);
  } catch (err) {
    throw new UserError('E_TEMPLATE', `${file}: chat_template does not parse (${(err as Error).message})`, file);
  }
  const overBudget = (err: unknown): UserError =>
    new UserError('E_TEMPLATE', `${file}: chat_template exceeded its rendering budget (${(err as Error).message}); refusing a template that can hang or exhaust memory`, file);
  let spentMs = 0;
  /** Throws the template's own error as it is, budget errors as UserErrors. */
  const renderRaw = (messages: ChatMessage[]): string => {
    if (spentMs > TOTAL_RENDER_MS) throw overBudget(new Error(`more than ${TOTAL_RENDER_MS / 1000} s of rendering in total`));
    const t0 = cpuMs();
    try {
      return renderWithBudget(tpl, { messages, add_generation_prompt: true, bos_token: tokens.bos ?? '', eos_token: tokens.eos ?? '', pad_token: tokens.pad ?? '' });
    } catch (err) {
      // RangeError: V8's own limits (string length, call stack) reached inside one step.
      throw err instanceof TemplateBudgetError || err instanceof RangeError ? overBudget(err) : err;
    } finally {
      spentMs += cpuMs() - t0;
    }
  };
  // Some templates reject a system role; then the context line travels inside the user turn.
  let systemRole = true;
  try {
    renderRaw([{ role: 'system', content: 'x' }, { role: 'user', content: 'y' }]);
  } catch (err) {
    if (err instanceof UserError) throw err;
    systemRole = false;
  }
  try {
    renderRaw([{ role: 'user', content: 'hello' }]);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError('E_TEMPLATE', `${file}: chat_template fails on a single user turn (${(err as Error).message})`, file);
  }
  return {
    systemRole,
    render: (messages) => {
      try {
        return renderRaw(messages);
      } catch (err) {
        if (err instanceof UserError) throw err;
        throw new UserError('E_TEMPLATE', `${file}: chat_template fails on a probe prompt (${(err as Error).message})`, file);
      }
    },
  };
}
