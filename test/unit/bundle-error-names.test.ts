import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import * as sourceErrors from '../../core/errors';

/**
 * The Lambda bundles are minified (serverless.yml custom.esbuild). Step Functions matches a task's
 * error by its `name`, so every domain error must keep its name through that build.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const shippedSettings = (): BuildOptions => {
  const serverless = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { logLevel: 'error', maxAliasCount: -1 }) as {
    custom: { esbuild: Record<string, unknown> };
  };
  // Options of serverless-esbuild itself, not of esbuild; the banner needs a file URL, which a data: import has not.
  const { exclude: _exclude, outputFileExtension: _extension, banner: _banner, ...esbuildOptions } = serverless.custom.esbuild;
  return esbuildOptions as BuildOptions;
};

describe('error names in the shipped bundles', () => {
  it('survive the Lambda build: each domain error is still called what the ASL matches', async () => {
    const settings = shippedSettings();
    expect(settings.minify, 'this test guards the minified build').toBe(true);
    const result = await build({ ...settings, entryPoints: [join(root, 'core', 'errors.ts')], write: false, logLevel: 'error' });
    const code = result.outputFiles[0]!.text;
    const bundled = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as Record<string, unknown>;

    const errorClasses = Object.entries(sourceErrors as Record<string, unknown>).filter(
      (entry): entry is [string, new (message: string) => Error] =>
        typeof entry[1] === 'function' && entry[1].prototype instanceof Error,
    );
    expect(errorClasses.map(([name]) => name)).toEqual(expect.arrayContaining(['Transient', 'InvalidInput', 'NotFound', 'Forbidden']));
    for (const [name] of errorClasses) {
      const Bundled = bundled[name] as new (message: string) => Error;
      expect(new Bundled('x').name, name).toBe(name);
    }
  });
});
