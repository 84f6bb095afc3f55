import { UserError } from '../errors.js';
import { compileChatTemplate } from '../formats/chat-template.js';
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

/**
 * A chat template from the model folder is hostile input: it is compiled and every render runs
 * within a budget (formats/chat-template.ts); any failure is one line naming the file.
 */
export function chatTemplateFormat(source: string, info: TokenizerInfo, file: string): PromptFormat {
  const tpl = compileChatTemplate(source, { bos: info.bosToken, eos: info.eosToken, pad: info.padToken }, file);
  return {
    kind: 'chat-template',
    addSpecialTokens: false,
    description: `chat_template from ${file}${tpl.systemRole ? '' : ' (no system role: context goes into the user turn)'}`,
    render: ({ user, context }) => {
      if (context === undefined) return tpl.render([{ role: 'user', content: user }]);
      return tpl.systemRole
        ? tpl.render([{ role: 'system', content: context }, { role: 'user', content: user }])
        : tpl.render([{ role: 'user', content: `${context}\n${user}` }]);
    },
  };
}
