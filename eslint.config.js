// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A relative import that climbs to one of the repository's top folders: `../adapters/s3`, `../../infra/local`. */
const climbsTo = (/** @type {string[]} */ ...folders) => `^(\\.{1,2}/)+(${folders.join('|')})(/|$)`;
/** The one back-end module the web app may see: the HTTP contract's types. */
const CONTRACT = 'core/contract(\\.[jt]s)?$';

/**
 * The walls of the layout (see shared STYLE and the README's architecture map): each names the files it
 * guards and the import sources they may not use, as regular expressions with the reason a reader sees.
 * @type {{ name: string, files: string[], forbidden: { regex: string, message: string, allowTypeImports?: boolean }[] }[]}
 */
const walls = [
  {
    name: 'core',
    files: ['core/**/*.ts'],
    forbidden: [
      {
        regex: '^(@aws-sdk|@smithy|@opensearch-project)/',
        message: 'core/ is the domain: it reaches AWS only through its ports, never through an SDK.',
      },
      {
        regex: '^(node:sqlite|nodemailer|s3rver|ws|pino)(/|$)',
        message: 'core/ uses no local stand-in, transport or logger library: adapters and functions/ do.',
      },
      {
        regex: climbsTo('adapters', 'functions', 'infra'),
        message: 'core/ imports no adapter, handler or infrastructure: they import core/, not the other way round.',
      },
    ],
  },
  {
    name: 'functions',
    files: ['functions/**/*.ts'],
    forbidden: [
      {
        regex: climbsTo('infra'),
        message: 'functions/ are the Lambda handlers: nothing under infra/ (the local stack, the AWS resources) goes into their bundles.',
      },
      {
        regex: '(^|/)ports/all(\\.[jt]s)?$',
        message: 'A handler names its own ports with wired(): functions/ports/all would bundle every SDK client. Only the local stack and tests take it.',
      },
    ],
  },
  {
    name: 'adapters',
    files: ['adapters/**/*.ts'],
    forbidden: [
      {
        regex: climbsTo('functions', 'infra'),
        message: 'adapters/ implement core ports: they import no handler and nothing under infra/.',
      },
    ],
  },
  {
    name: 'frontend',
    files: ['frontend/**/*.{ts,tsx}'],
    forbidden: [
      {
        regex: `^(\\.{1,2}/)+(?!${CONTRACT})(core|adapters|functions|infra)(/|$)`,
        message: 'The web app imports no back-end module: only `import type` from core/contract.',
      },
      {
        regex: `^(\\.{1,2}/)+${CONTRACT}`,
        allowTypeImports: true,
        message: 'The web app takes core/contract as types only: write `import type`, so no back-end code reaches the bundle.',
      },
    ],
  },
];

/**
 * `import()` escapes no-restricted-imports, so the same sources are refused there too; it always loads
 * values, so a type-only allowance does not apply. esquery's regex literal needs `/` escaped.
 */
const dynamicImportsOf = (/** @type {typeof walls[number]['forbidden']} */ forbidden) =>
  forbidden.map((rule) => ({
    selector: `ImportExpression[source.value=/${rule.regex.replaceAll('/', '\\/')}/]`,
    message: rule.message,
  }));

/** `import { z } from 'zod'` puts all of zod (~450 KB minified) into every Lambda bundle; the namespace import tree-shakes (~85 KB). */
const wholeZod = {
  selector: "ImportDeclaration[source.value='zod'][importKind!='type'] > ImportSpecifier[imported.name='z']",
  message: "Write `import * as z from 'zod'`: the named `z` pulls all of zod into every Lambda bundle.",
};

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '.serverless/', '.esbuild/', 'frontend/dist/', 'coverage/', '.bench/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  ...walls.map(({ name, files, forbidden }) => ({
    name: `ferry/walls/${name}`,
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: forbidden }],
      'no-restricted-syntax': ['error', ...dynamicImportsOf(forbidden), ...(name === 'frontend' ? [] : [wholeZod])],
      // `import { type A } from` keeps a runtime import under verbatimModuleSyntax: it must be `import type`.
      ...(name === 'frontend' ? { '@typescript-eslint/no-import-type-side-effects': 'error' } : {}),
    },
  })),
);
