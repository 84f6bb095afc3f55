import { Template } from '@huggingface/jinja';
import { UserError } from '../errors.js';
import type { TokenizerInfo } from './tokenizer.js';

/** One user turn, optionally with a context line before it (system prompt or a line of context). */
export interface Turn {
  user: string;
  context?: string | undefined;
}

export interface PromptFormat {
  kind: 'chat-template' | 'plain';
  /** The text the model sees before it answers. */
  render(turn: Turn): string;
  /** Templates write BOS themselves; plain frames rely on the tokenizer's post-processor. */
  addSpecialTokens: boolean;
  description: string;
}

export const DEFAULT_FRAME = 'User: {prompt}\nAssistant:';

/** A frame with `{prompt}` (and optionally `{context}`) placeholders, for models without a chat template. */
export function plainFormat(frame: string = DEFAULT_FRAME): PromptFormat {
  if (!frame.includes('{prompt}')) throw new UserError('E_USAGE', `--frame must contain {prompt} (got ${JSON.stringify(frame)})`);
  return {
    kind: 'plain',
    addSpecialTokens: true,
    description: `plain frame ${JSON.stringify(frame)}`,
    render: ({ user, context }) => {
      const withCtx = frame.includes('{context}') ? frame.replace('{context}', context ?? '') : (context ? `${context}\n` : '') + frame;
      return withCtx.replace('{prompt}', () => user);
    },
  };
}

export function chatTemplateFormat(source: string, info: TokenizerInfo, file: string): PromptFormat {
  let tpl: Template;
  try {
    tpl = new Template(source);
  } catch (err) {
    throw new UserError('E_TEMPLATE', `${file}: chat_template does not parse (${(err as Error).message})`, file);
  }
  const render = (messages: { role: string; content: string }[]) =>
    tpl.render({
      messages,
      add_generation_prompt: true,
      bos_token: info.bosToken ?? '',
      eos_token: info.eosToken ?? '',
      pad_token: info.padToken ?? '',
    });
  // Some templates reject a system role; then the context line travels inside the user turn.
  let systemOk = true;
  try {
    render([{ role: 'system', content: 'x' }, { role: 'user', content: 'y' }]);
  } catch {
    systemOk = false;
  }
  try {
    render([{ role: 'user', content: 'hello' }]);
  } catch (err) {
    throw new UserError('E_TEMPLATE', `${file}: chat_template fails on a single user turn (${(err as Error).message})`, file);
  }
  return {
    kind: 'chat-template',
    addSpecialTokens: false,
    description: `chat_template from ${file}${systemOk ? '' : ' (no system role: context goes into the user turn)'}`,
    render: ({ user, context }) => {
      if (context === undefined) return render([{ role: 'user', content: user }]);
      return systemOk
        ? render([{ role: 'system', content: context }, { role: 'user', content: user }])
        : render([{ role: 'user', content: `${context}\n${user}` }]);
    },
  };
}
