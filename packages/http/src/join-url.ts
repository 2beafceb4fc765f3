/** Joins a base URL (which may carry a path prefix and trailing slashes) and an API path. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}
