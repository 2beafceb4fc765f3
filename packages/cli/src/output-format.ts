/**
 * @module output-format
 * The `-f/--format` option (`human|h|plain|p|json|j|yaml|y`) and the JSON / YAML renderers.
 */
import { stringify } from 'yaml';
import { invalidInput } from './exit-code.ts';

export type OutputFormat = 'human' | 'json' | 'yaml';

export const FORMAT_CHOICES = ['human', 'h', 'plain', 'p', 'json', 'j', 'yaml', 'y'] as const;

export const FORMAT_OPTION_HELP = 'output format: human|h|plain|p, json|j, yaml|y';

export function parseOutputFormat(value: string | undefined): OutputFormat {
  switch ((value ?? 'human').trim().toLowerCase()) {
    case 'human':
    case 'h':
    case 'plain':
    case 'p':
      return 'human';
    case 'json':
    case 'j':
      return 'json';
    case 'yaml':
    case 'y':
      return 'yaml';
    default:
      throw invalidInput(
        `Invalid value '${value ?? ''}' for --format: use human (h, plain, p), json (j) or yaml (y).`,
      );
  }
}

/** Render a data value as a JSON or YAML document ending in a newline. */
export function renderDocument(value: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return JSON.stringify(value, null, 2) + '\n';
  const text = stringify(value, { lineWidth: 0 });
  return text.endsWith('\n') ? text : text + '\n';
}
