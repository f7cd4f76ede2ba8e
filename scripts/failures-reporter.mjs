// A node:test reporter that writes only the failures: one block per failed test with its file,
// name and error. run-tests.mjs sends it to a file next to the spec reporter on stdout and prints
// the blocks again at the very end, so the tail of a long run (all CI keeps) names what failed.
// Suites that failed only because a test inside them failed are left out (the test is listed).
import { inspect } from 'node:util';

const MAX_LINES = 40;

export default async function* failures(source) {
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const { name, file, line, details } = event.data;
    const error = details?.error;
    if (error?.failureType === 'subtestsFailed') continue;
    const where = file ? `${file}${line ? `:${line}` : ''}` : '(no file)';
    const cause = error?.cause ?? error;
    const text = inspect(cause, { depth: 4, breakLength: 120 }).split('\n').slice(0, MAX_LINES);
    yield `✖ ${name}\n  at ${where}\n${text.map((l) => `  ${l}`).join('\n')}\n\n`;
  }
}
