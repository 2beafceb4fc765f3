/**
 * Loaded with `node --import` by the start-up test: records the URL of every module the process
 * resolves and writes them, one per line, to the file named by RECORD_LOADS_TO when it exits.
 */
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const out = process.env['RECORD_LOADS_TO'];
const seen = new Set<string>();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    seen.add(result.url);
    return result;
  },
});
process.on('exit', () => {
  if (out !== undefined) writeFileSync(out, [...seen].join('\n') + '\n');
});
