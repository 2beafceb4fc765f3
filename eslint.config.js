// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import boundaries from './boundaries.json' with { type: 'json' };

/**
 * Package boundaries from boundaries.json (ADR 0019): each package may import only the packages
 * listed for it; `node:crypto` only in the files listed under `nodeCrypto`; pure packages do no
 * I/O. Tests and `testing/` helpers are checked by test/architecture/import-graph.test.ts instead
 * (they may also import their package's devDependencies).
 * @returns {import('typescript-eslint').ConfigArray}
 */
function boundaryConfigs() {
  /** @type {Record<string, { imports: string[], pure?: boolean }>} */
  const table = boundaries.packages;
  const names = Object.keys(table);
  /** @param {string} pkg @param {boolean} cryptoAllowed */
  const rule = (pkg, cryptoAllowed) => {
    const allowed = table[pkg]?.imports ?? [];
    const forbidden = names.filter((n) => n !== pkg && !allowed.includes(n));
    const paths = [
      ...(cryptoAllowed ? [] : ['node:crypto', 'crypto']).map((name) => ({
        name,
        message:
          'node:crypto belongs to core/src/crypto and identity X.509 code: use the @spike-ts/core helpers.',
      })),
      ...(table[pkg]?.pure === true ? boundaries.pureForbidden : []).map((name) => ({
        name,
        message: `${pkg} is pure: no I/O.`,
      })),
    ];
    const may = allowed.length > 0 ? allowed.join(', ') : 'nothing';
    const patterns = forbidden.map((n) => ({
      group: [`@spike-ts/${n}`, `@spike-ts/${n}/*`],
      message: `${pkg} may import ${may} of ours (boundaries.json).`,
    }));
    return { 'no-restricted-imports': ['error', { paths, patterns }] };
  };
  const tests = ['**/*.test.ts', '**/testing/**'];
  const configs = names.map((pkg) => ({
    files: [`packages/${pkg}/src/**/*.ts`, `packages/${pkg}/bin/**/*.js`],
    ignores: tests,
    rules: rule(pkg, false),
  }));
  for (const pkg of names) {
    const prefix = `packages/${pkg}/`;
    const files = boundaries.nodeCrypto
      .filter((f) => f.startsWith(prefix))
      .map((f) => (f.endsWith('/') ? `${f}**/*.ts` : f));
    if (files.length > 0) configs.push({ files, ignores: tests, rules: rule(pkg, true) });
  }
  return configs;
}

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '.tools/**', '.cache/**', 'bench/results/**', 'coverage/**', 'dist/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['eslint.config.js', 'packages/*/bin/*.js', 'test/packaging/consumer/*.mjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      'no-console': ['error', { allow: ['error', 'warn'] }],
      eqeqeq: ['error', 'always'],
    },
  },
  ...boundaryConfigs(),
  {
    // Shared HTTP plumbing sits below the servers and the bootstrap.
    files: ['packages/http/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@spike-ts/nexus',
                '@spike-ts/keeper',
                '@spike-ts/bootstrap',
                '@spike-ts/store',
                '@spike-ts/sdk',
                '@spike-ts/cli',
              ],
              message: 'http is plumbing below the servers: it imports none of them.',
            },
          ],
        },
      ],
    },
  },
  {
    // The settings table sits below every component (identity included): it imports none of ours.
    files: ['packages/settings/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['@spike-ts/*'], message: 'settings imports nothing of ours.' }],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-console': 'off',
    },
  },
);
