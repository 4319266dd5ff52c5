// A node:test reporter beside spec (scripts/run-tests.mjs): one line per test file, its wall time
// in milliseconds and its path, for the table of the slowest files printed at the end of a run.
export default async function* fileTimes(source) {
  for await (const event of source) {
    // The runner reports each file as a test named by its path; its duration is the file's wall time.
    if (event.type === 'test:complete' && event.data.file && event.data.name === event.data.file) {
      yield `${Math.round(event.data.details.duration_ms)}\t${event.data.file}\n`;
    }
  }
}
