/**
 * @module version
 * The CLI's version, from its package.json.
 */
import pkg from '../package.json' with { type: 'json' };

export const CLI_VERSION: string = pkg.version;
