/**
 * Client-side secret path normalization (CLI and SDK). Paths are key names, not file-system
 * paths, but people type them like paths, so the client tidies them up before sending:
 *
 * 1. Surrounding whitespace is trimmed.
 * 2. Runs of `/` collapse into one `/`.
 * 3. One leading `/` and one trailing `/` are removed.
 * 4. A `.` or `..` segment is rejected (there are no directories to move between).
 * 5. An empty result is rejected.
 * 6. The result must satisfy the server's path rule: 1..500 characters from
 *    `a-z A-Z 0-9 . _ - / ( ) ? + * | [ ] { } \`.
 *
 * Example: `"  /tenants//demo/db/ "` becomes `"tenants/demo/db"`.
 * The server itself does not normalize: it stores exactly the path it receives.
 */
import { BadRequestError } from './api-error.ts';
import { validateSecretPath } from './validate.ts';

export function normalizeSecretPath(input: string): string {
  let path = input.trim();
  path = path.replace(/\/{2,}/g, '/');
  if (path.startsWith('/')) path = path.slice(1);
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (path === '') throw new BadRequestError('path: empty (after trimming whitespace and slashes)');
  for (const segment of path.split('/')) {
    if (segment === '.' || segment === '..') {
      throw new BadRequestError('path: "." and ".." segments are not allowed');
    }
  }
  return validateSecretPath(path);
}
