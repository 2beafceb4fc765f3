/**
 * @module read-input
 * Bounded reads from stdin and files, a yes/no confirmation, and a hidden (no echo) prompt.
 */
import { open } from 'node:fs/promises';
import type { InputStream, OutputStream } from './cli-io.ts';
import { CliError, invalidInput } from './exit-code.ts';

/** Read all of `stream`, refusing more than `limit` bytes. */
export async function readStreamLimited(stream: InputStream, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    total += buf.byteLength;
    if (total > limit) {
      for (const c of chunks) c.fill(0);
      buf.fill(0);
      throw invalidInput(`${what} is larger than ${limit} bytes.`);
    }
    chunks.push(buf);
  }
  const all = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return all;
}

/** Read a regular file, refusing more than `limit` bytes; `argument` names the option in errors. */
export async function readFileLimited(path: string, limit: number, argument: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw invalidInput(`Cannot read ${argument} '${path}': ${code === 'ENOENT' ? 'no such file' : code}.`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw invalidInput(`${argument} '${path}' is not a regular file.`);
    if (st.size > limit) throw invalidInput(`${argument} '${path}' is larger than ${limit} bytes.`);
    const buf = await handle.readFile();
    if (buf.byteLength > limit) throw invalidInput(`${argument} '${path}' is larger than ${limit} bytes.`);
    return buf;
  } finally {
    await handle.close();
  }
}

/** Read one line from a TTY or pipe (without echo when `hidden`), at most `limit` bytes. */
export async function promptLine(
  stdin: InputStream,
  stderr: OutputStream,
  question: string,
  opts: { hidden: boolean; limit: number },
): Promise<string> {
  stderr.write(question);
  const raw = opts.hidden && stdin.isTTY === true && stdin.setRawMode !== undefined;
  if (raw) stdin.setRawMode?.(true);
  try {
    return await new Promise<string>((resolve, reject) => {
      let line = '';
      const onData = (chunk?: Buffer | string): void => {
        if (chunk === undefined) return;
        const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
        for (const ch of text) {
          if (ch === '\u0003') return finish(new CliError('Cancelled.'));
          if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(undefined);
          if (ch === '\u007f' || ch === '\b') {
            line = line.slice(0, -1);
            continue;
          }
          line += ch;
          if (line.length > opts.limit)
            return finish(invalidInput(`Input is longer than ${opts.limit} bytes.`));
        }
      };
      const onEnd = (): void => finish(undefined);
      const finish = (err: Error | undefined): void => {
        stdin.off?.('data', onData);
        stdin.off?.('end', onEnd);
        stdin.pause?.();
        if (raw) stderr.write('\n');
        if (err === undefined) resolve(line);
        else reject(err);
      };
      stdin.on?.('data', onData);
      stdin.on?.('end', onEnd);
      stdin.resume?.();
    });
  } finally {
    if (raw) stdin.setRawMode?.(false);
  }
}

/** Ask `question (y/N)`; only `y`/`yes` (any case) confirms. */
export async function confirm(stdin: InputStream, stderr: OutputStream, question: string): Promise<boolean> {
  const answer = await promptLine(stdin, stderr, `${question} (y/N) `, { hidden: false, limit: 64 });
  return /^\s*y(es)?\s*$/i.test(answer);
}
