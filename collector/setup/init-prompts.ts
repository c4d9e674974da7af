// The questions `meerkat-collector init` asks on a terminal: each with a default (a flag's
// value or a guess from this host), an empty answer takes it, a bad answer is asked again
// with the reason. Prompts go to stderr, answers come line by line from stdin (a pipe works
// too: tests and scripts answer with `--interactive`).
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** Checks an answer: the value to use, or throws an Error whose message says what is wrong. */
export type AnswerCheck<T> = (text: string) => T;

export class Prompter {
  private readonly lines: AsyncIterator<string>;
  private readonly rl;

  constructor(input: Readable, private readonly output: Writable) {
    this.rl = createInterface({ input, terminal: false });
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  /** Asks until the answer passes `check`; an empty answer is `fallback`. Ends input: the fallback. */
  async ask<T>(question: string, fallback: string, check: AnswerCheck<T>): Promise<T> {
    for (;;) {
      this.output.write(`${question}${fallback ? ` [${fallback}]` : ''}: `);
      const next = await this.lines.next();
      const text = next.done ? fallback : next.value.trim() || fallback;
      if (next.done) this.output.write('\n');
      try {
        return check(text);
      } catch (e) {
        this.output.write(`  ${(e as Error).message}\n`);
        if (next.done) throw e;
      }
    }
  }

  async confirm(question: string): Promise<boolean> {
    return this.ask(question, 'y', (t) => {
      if (/^(y|yes)$/i.test(t)) return true;
      if (/^(n|no)$/i.test(t)) return false;
      throw new Error('answer y or n');
    });
  }

  close(): void {
    this.rl.close();
  }
}
