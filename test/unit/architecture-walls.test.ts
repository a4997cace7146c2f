import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd: root, overrideConfigFile: join(root, 'eslint.config.js') });

/** Lints `code` as if it were the file at `path` (relative to the repository); the file need not exist. */
async function lint(path: string, code: string): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, path) });
  return result!.messages;
}

const RESTRICTED = '@typescript-eslint/no-restricted-imports';
const DYNAMIC = 'no-restricted-syntax';

/** The one message a wall gives, with the rule that gave it. */
async function refusal(path: string, code: string): Promise<{ ruleId: string | null; message: string }> {
  const messages = await lint(path, code);
  expect(messages, JSON.stringify(messages)).toHaveLength(1);
  return { ruleId: messages[0]!.ruleId, message: messages[0]!.message };
}

describe('the walls eslint.config.js keeps', () => {
  it('core/ may not import an AWS SDK, Smithy or OpenSearch client', async () => {
    for (const source of ['@aws-sdk/client-s3', '@smithy/service-error-classification', '@opensearch-project/opensearch']) {
      const { ruleId, message } = await refusal('core/export/x.ts', `import { client } from '${source}';\nexport const used = client;\n`);
      expect(ruleId).toBe(RESTRICTED);
      expect(message).toContain(`'${source}' import is restricted`);
      expect(message).toContain('core/ is the domain: it reaches AWS only through its ports');
    }
  });

  it('core/ may not import the local stand-ins, transports or the logger', async () => {
    for (const source of ['node:sqlite', 'nodemailer', 's3rver', 'ws', 'pino']) {
      const { ruleId, message } = await refusal('core/x.ts', `import lib from '${source}';\nexport const used = lib;\n`);
      expect(ruleId).toBe(RESTRICTED);
      expect(message).toContain('core/ uses no local stand-in, transport or logger library');
    }
  });

  it('core/ may not import adapters/, functions/ or infra/, statically or with import()', async () => {
    for (const source of ['../adapters/aws/s3-object-store', '../../functions/composition', '../infra/local/start']) {
      const { ruleId, message } = await refusal('core/import/x.ts', `export { thing } from '${source}';\n`);
      expect(ruleId).toBe(RESTRICTED);
      expect(message).toContain('core/ imports no adapter, handler or infrastructure');
    }
    const dynamic = await refusal('core/x.ts', "export const load = () => import('../adapters/aws/s3-object-store');\n");
    expect(dynamic).toEqual({ ruleId: DYNAMIC, message: expect.stringContaining('core/ imports no adapter, handler or infrastructure') });
  });

  it('core/ may import its own modules and plain libraries', async () => {
    const code = "import { NotFound } from '../errors';\nimport * as z from 'zod';\nimport { createHash } from 'node:crypto';\nexport const used = [NotFound, z, createHash];\n";
    expect(await lint('core/import/x.ts', code)).toEqual([]);
  });

  it("back-end code imports zod as a namespace, never the named `z` that pulls all of zod into every bundle", async () => {
    for (const path of ['core/x.ts', 'functions/api/x.ts', 'adapters/aws/x.ts']) {
      const { ruleId, message } = await refusal(path, "import { z } from 'zod';\nexport const schema = z.string();\n");
      expect(ruleId).toBe(DYNAMIC);
      expect(message).toContain("import * as z from 'zod'");
    }
    expect(await lint('core/x.ts', "import * as z from 'zod';\nexport const schema = z.string();\n")).toEqual([]);
  });

  it('functions/ may not import anything under infra/', async () => {
    const { ruleId, message } = await refusal('functions/api/x.ts', "import { startGateway } from '../../infra/local/gateway';\nexport const used = startGateway;\n");
    expect(ruleId).toBe(RESTRICTED);
    expect(message).toContain("'../../infra/local/gateway' import is restricted");
    expect(message).toContain('functions/ are the Lambda handlers: nothing under infra/');
    const dynamic = await refusal('functions/composition.ts', "export const load = () => import('../infra/aws/resources');\n");
    expect(dynamic).toEqual({ ruleId: DYNAMIC, message: expect.stringContaining('nothing under infra/') });
  });

  it('a handler names its own ports: functions/ may not take every port builder at once', async () => {
    const { ruleId, message } = await refusal('functions/api/x.ts', "import { awsPorts } from '../ports/all';\nexport const used = awsPorts;\n");
    expect(ruleId).toBe(RESTRICTED);
    expect(message).toContain('A handler names its own ports with wired()');
    const dynamic = await refusal('functions/composition.ts', "export const load = () => import('./ports/all');\n");
    expect(dynamic).toEqual({ ruleId: DYNAMIC, message: expect.stringContaining('functions/ports/all would bundle every SDK client') });
    expect(await lint('functions/api/x.ts', "import { search } from '../ports/search';\nexport const used = search;\n")).toEqual([]);
  });

  it('functions/ may import core/ and adapters/', async () => {
    const code = "import { NotFound } from '../../core/errors';\nexport const load = () => import('../../adapters/aws/s3-object-store');\nexport const used = NotFound;\n";
    expect(await lint('functions/api/x.ts', code)).toEqual([]);
  });

  it('adapters/ may not import functions/ or infra/', async () => {
    for (const source of ['../../functions/log', '../../infra/local/stack']) {
      const { ruleId, message } = await refusal('adapters/aws/x.ts', `import { thing } from '${source}';\nexport const used = thing;\n`);
      expect(ruleId).toBe(RESTRICTED);
      expect(message).toContain('adapters/ implement core ports: they import no handler and nothing under infra/');
    }
  });

  it('adapters/ may import core/, SDKs and each other', async () => {
    const code = "import { S3Client } from '@aws-sdk/client-s3';\nimport type { ObjectStore } from '../../core/ports';\nimport { transient } from './transient';\nexport const used: [unknown, ObjectStore?, unknown] = [S3Client, undefined, transient];\n";
    expect(await lint('adapters/aws/x.ts', code)).toEqual([]);
  });

  it('the web app may not import a back-end module, not even its types', async () => {
    for (const source of ['../../../core/model', '../../../adapters/local/outbox-mailer', '../../../functions/http', '../../../infra/local/start']) {
      const { ruleId, message } = await refusal('frontend/src/api/x.ts', `import type { Thing } from '${source}';\nexport type Used = Thing;\n`);
      expect(ruleId).toBe(RESTRICTED);
      expect(message).toContain('The web app imports no back-end module: only `import type` from core/contract');
    }
  });

  it('the web app takes core/contract with `import type` only', async () => {
    expect(await lint('frontend/src/api/types.ts', "import type { ExportStatus } from '../../../core/contract';\nexport type Status = ExportStatus;\n")).toEqual([]);
    expect(await lint('frontend/src/api/types.ts', "export type { ExportStatus } from '../../../core/contract';\n")).toEqual([]);

    const value = await refusal('frontend/src/api/types.ts', "import { ExportStatus } from '../../../core/contract';\nexport const used = ExportStatus;\n");
    expect(value.ruleId).toBe(RESTRICTED);
    expect(value.message).toContain('The web app takes core/contract as types only: write `import type`');

    const inline = await refusal('frontend/src/api/types.ts', "import { type ExportStatus } from '../../../core/contract';\nexport type Status = ExportStatus;\n");
    expect(inline.ruleId).toBe('@typescript-eslint/no-import-type-side-effects');

    const dynamic = await refusal('frontend/src/pages/x.tsx', "export const load = () => import('../../../core/contract');\n");
    expect(dynamic).toEqual({ ruleId: DYNAMIC, message: expect.stringContaining('core/contract as types only') });
  });

  it('the web app may import its own modules and browser libraries', async () => {
    const code = "import { createSha256 } from '../lib/sha256';\nimport { fetchAuthSession } from 'aws-amplify/auth';\nexport const used = [createSha256, fetchAuthSession];\n";
    expect(await lint('frontend/src/imports/x.ts', code)).toEqual([]);
  });

  it('tests and benchmarks outside the walls may import across them', async () => {
    const code = "import { S3Client } from '@aws-sdk/client-s3';\nimport { startStack } from '../../infra/local/stack';\nexport const used = [S3Client, startStack];\n";
    expect(await lint('test/integration/x.test.ts', code)).toEqual([]);
  });
});
