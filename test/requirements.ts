import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { findClamd } from '../infra/local/clamd/start-clamd';

/**
 * Debian packages some tests need beyond Node. On a developer's machine a missing one skips those tests
 * with a message saying what to install; on CI (`.ci/run` installs both) a missing one is an error, so
 * nothing is skipped there.
 */
function missing(what: string, present: boolean, install: string): string | undefined {
  if (present) return undefined;
  const message = `${what} is not installed (${install})`;
  if (process.env.CI) throw new Error(`CI must run every test, but ${message}`);
  return message;
}

/** Debian's Chromium for the end-to-end tests; never a downloaded browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the end-to-end tests cannot run here, if they cannot. */
export const chromiumMissing = (): string | undefined => missing('Chromium', existsSync(CHROMIUM_PATH), 'apt-get install chromium');

/** Why tests that scan uploads with a real clamd cannot run here, if they cannot. */
export const clamdMissing = (): string | undefined => missing('clamd', findClamd() !== undefined, 'apt-get install clamav-daemon');

/** Whether a program is on PATH (an executable file of that name in one of its directories). */
export const onPath = (program: string): boolean =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, program)));

/** moto's server, the independent implementation of Cognito user pools and SES v2 the emulator tests run against. */
export const motoMissing = (): string | undefined => missing('moto_server', onPath('moto_server'), 'pip install "moto[server]"');

/** The AWS CLI (botocore), a client of the local S3 and Step Functions that is not the JavaScript SDK. */
export const awsCliMissing = (): string | undefined => missing('The AWS CLI', onPath('aws'), 'pip install awscli');

/** A describe title that says when, and why, its tests are skipped. */
export const titled = (title: string, why: string | undefined): string => (why ? `${title} (skipped: ${why})` : title);

/** cfn-lint, which lints the packaged template and the infra/aws stacks as CloudFormation would read them. */
export const cfnLintMissing = (): string | undefined => missing('cfn-lint', onPath('cfn-lint'), 'pip install cfn-lint');
