/**
 * What the console's tests send as a browser would: page loads and form posts over plain HTTP to
 * a console under test, redirects not followed, the session cookie and Origin given by the test.
 */

/** GET `path`, with the session cookie when one is given. */
export function getPage(base: string, path: string, cookie?: string): Promise<Response> {
  return fetch(base + path, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } });
}

/** POST `form` (url-encoded) to `path` with the cookie and Origin; `headers` override or add. */
export function postForm(
  base: string,
  origin: string,
  path: string,
  form: Record<string, string>,
  cookie: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(base + path, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}
