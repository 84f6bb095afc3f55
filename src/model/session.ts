import os from 'node:os';
import './ort-env.js';
import type { InferenceSession } from 'onnxruntime-node';
import { UserError } from '../errors.js';

export interface SessionOptions {
  /** ORT intra-op threads; parallelism comes from here, since session.run blocks the JS thread. */
  threads?: number | undefined;
}

export function defaultThreads(): number {
  return Math.max(1, os.availableParallelism());
}

// ORT's own messages for a file it cannot use; they become one line naming the file.
function ortLoadMessage(err: unknown): string {
  const msg = (err as Error)?.message ?? String(err);
  return msg.split('\n')[0]!.replace(/^\[[^\]]*\]\s*/, '').slice(0, 300);
}

/** A graph built in memory whose initializers are external data in files under `externalDataFolder`. */
export interface InMemoryGraph {
  bytes: Uint8Array;
  externalDataFolder: string;
  /** What messages name (the checkpoint the graph was built from). */
  label: string;
}

export async function createSession(graph: string | InMemoryGraph, opts: SessionOptions = {}): Promise<InferenceSession> {
  // Loaded lazily so that --help and pure-JSON commands never pay for the native binding.
  const ort = await import('onnxruntime-node');
  // ORT prints its own coloured line to stderr for load and run errors (external data missing or
  // truncated, a bad node) before it throws; the error it throws becomes our one line instead.
  // 'fatal' here covers the environment, logSeverityLevel 4 the session and its runs.
  ort.env.logLevel = 'fatal';
  const threads = opts.threads ?? defaultThreads();
  const label = typeof graph === 'string' ? graph : graph.label;
  // onnxruntime resolves a built graph's external data against this folder and refuses any
  // location whose real path leaves it.
  const external = typeof graph === 'string' ? {} : { model_external_initializers_file_folder_path: graph.externalDataFolder };
  try {
    const options: InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 4,
      // Spinning threads burn a core after every run; the JS side works between runs.
      extra: { session: { intra_op: { allow_spinning: '0' }, ...external } },
    };
    return typeof graph === 'string' ? await ort.InferenceSession.create(graph, options) : await ort.InferenceSession.create(graph.bytes, options);
  } catch (err) {
    throw new UserError('E_ONNX_LOAD', `${label}: onnxruntime cannot load the graph (${ortLoadMessage(err)})`, label);
  }
}
