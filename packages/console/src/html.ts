/**
 * The console's one escaping function and the template tag built on it. Every page is written
 * with `markup`…``: each interpolated value is escaped unless it is already `SafeHtml` (made by
 * this tag), so a secret path, policy name or audit field can never become markup.
 */

/** Markup this module produced; only `markup` and `joinHtml` make one. */
export class SafeHtml {
  readonly text: string;
  private constructor(text: string) {
    this.text = text;
  }
  /** @internal only this module builds markup from text. */
  static trusted(text: string): SafeHtml {
    return new SafeHtml(text);
  }
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
  '=': '&#61;',
};

/**
 * Escapes text for an HTML element body or a double-quoted attribute value. Control characters
 * other than tab, newline and carriage return become U+FFFD, so nothing reaches the page raw.
 */
export function escapeHtml(value: string): string {
  return value.replace(
    // eslint-disable-next-line no-control-regex
    /[&<>"'`=]|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g,
    (c) => ENTITIES[c] ?? '\ufffd',
  );
}

/** One value inside a template: text (escaped), markup, a list of either, or nothing. */
export type HtmlValue = string | number | SafeHtml | null | undefined | false | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(value));
}

/** Template tag: literal parts are markup, interpolated values are escaped. */
export function markup(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i += 1) {
    out += render(values[i]) + (strings[i + 1] ?? '');
  }
  return SafeHtml.trusted(out);
}

/** A query string of escaped-on-render parts: `?a=1&b=x%20y` (URL-encoded, then HTML-escaped). */
export function query(params: Readonly<Record<string, string | number | undefined>>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, String(v));
  const s = search.toString();
  return s === '' ? '' : `?${s}`;
}
