/**
 * Progress of concurrent steps (creating networks, pulling, starting containers) on stderr:
 * listr2's live display on a terminal; otherwise one plain line per finished step, as
 * docker-compose prints without a TTY (`Creating demo_web_1 ... done`), which CI logs keep.
 */

import type { Progress, ProgressStep, StepResult } from '../execute/progress.js';

async function settle(step: ProgressStep, report: (outcome: string) => void): Promise<StepResult> {
  try {
    report((await step.run()) || 'done');
    return { title: step.title };
  } catch (error) {
    report('error');
    return { title: step.title, error };
  }
}

export function plainProgress(stream: NodeJS.WritableStream): Progress {
  return {
    run: (steps) => Promise.all(steps.map((s) => settle(s, (outcome) => stream.write(`${s.title} ... ${outcome}\n`)))),
    line: (text) => {
      stream.write(`${text}\n`);
    },
  };
}

export function ttyProgress(stream: NodeJS.WriteStream): Progress {
  return {
    async run(steps) {
      const results: StepResult[] = new Array(steps.length);
      if (steps.length === 0) return [];
      // Loaded only for a live display on a terminal.
      const { Listr, ProcessOutput, ListrLogger } = await import('listr2');
      const list = new Listr(
        steps.map((s, i) => ({
          title: s.title,
          task: async (_ctx: unknown, task: { title: string }) => {
            results[i] = await settle(s, (outcome) => {
              task.title = `${s.title} ... ${outcome}`;
            });
            if (results[i]?.error) throw results[i]?.error instanceof Error ? results[i]?.error : new Error(String(results[i]?.error));
          },
        })),
        {
          concurrent: true,
          exitOnError: false,
          registerSignalListeners: false,
          rendererOptions: {
            collapseErrors: true,
            showErrorMessage: false,
            logger: new ListrLogger({ processOutput: new ProcessOutput(stream, stream) }),
          },
        },
      );
      try {
        await list.run();
      } catch {
        // Errors are collected in results.
      }
      return results;
    },
    line: (text) => {
      stream.write(`${text}\n`);
    },
  };
}

export function progressFor(stream: NodeJS.WritableStream): Progress {
  // A terminal that reports no width (e.g. under `script`) would get one character per line.
  const tty = (stream as NodeJS.WriteStream).isTTY === true && ((stream as NodeJS.WriteStream).columns ?? 0) > 20;
  return tty ? ttyProgress(stream as NodeJS.WriteStream) : plainProgress(stream);
}
