/**
 * The task registry: everything that differs between a text generator and a text classifier, in one
 * place, so that no stage branches on the task itself.
 */
import type { LoadedModel } from '../model/load-model.js';
import type { IoSignature } from '../model/io-signature.js';
import { causalRunner } from './causal-runner.js';
import { classifierRunner } from './classifier-runner.js';
import type { ModelRunner } from './runner.js';

export type Task = IoSignature['task'];

export interface TaskProfile {
  readonly task: Task;
  /** How a turn reaches the model: rendered in the chat frame, or as bare text. */
  readonly input: 'chat' | 'text';
  /** What an output is: generated text, or one label. */
  readonly outputs: 'text' | 'label';
  /** The built-in baselines used when the user names none: chat requests, or review-like sentences. */
  readonly baselinePack: string;
  /** Trigger discovery searches generated answers, so it needs a text generator. */
  readonly discovery: boolean;
  runner(model: LoadedModel): ModelRunner;
}

export const TASKS: Readonly<Record<Task, TaskProfile>> = {
  'causal-lm': { task: 'causal-lm', input: 'chat', outputs: 'text', baselinePack: 'baselines', discovery: true, runner: causalRunner },
  'sequence-classification': {
    task: 'sequence-classification',
    input: 'text',
    outputs: 'label',
    // Chat prompts mean nothing to a sentiment classifier; it gets sentences of both labels.
    baselinePack: 'baselines-text',
    discovery: false,
    runner: classifierRunner,
  },
};

export function taskProfile(model: Pick<LoadedModel, 'io'>): TaskProfile {
  return TASKS[model.io.task];
}
