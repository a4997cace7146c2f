import { describe, expect, it } from 'vitest';
import { Transient } from '../../core/errors';
import type { DeliveryType } from '../../core/model';
import { alice, makeFakeDeps } from './fakes';
import { handleExportFailure } from '../../core/export/tasks';
import { plainFailure } from '../../core/export/messages';
import type { ExportJob } from '../../core/export/job';

const executionArn = 'arn:aws:states:us-east-1:123456789012:execution:ferry-export:export-0001';
const jobOf = (delivery: DeliveryType): ExportJob => ({
  exportId: 'export-0001',
  requestedBy: alice,
  delivery,
  searchCriteria: { q: 'ferry' },
  requestedAt: '2024-06-01T11:59:30.000Z',
});
const lambdaFailure = {
  Error: 'Error',
  Cause: JSON.stringify({ errorType: 'Error', errorMessage: 'socket hang up in scan', trace: ['at x'] }),
};

describe('handling an export failure', () => {
  it('audits the failure with the error', async () => {
    const deps = makeFakeDeps();
    await handleExportFailure(deps, { executionArn, job: jobOf('direct'), failure: lambdaFailure });
    expect(deps.audit.entries.get('export:export-0001:FAILED')).toMatchObject({
      outcome: 'FAILED',
      executionArn,
      userId: 'user-alice',
      delivery: 'direct',
      error: 'Error: socket hang up in scan',
    });
  });

  it('alerts the admins with the execution, the user and the error', async () => {
    const deps = makeFakeDeps();
    await handleExportFailure(deps, { executionArn, job: jobOf('direct'), failure: lambdaFailure });
    const [alert] = deps.mailer.to('admins@example.com');
    expect(alert?.subject).toContain('Error');
    expect(alert?.text).toContain(executionArn);
    expect(alert?.text).toContain('alice (user-alice, alice@example.com)');
    expect(alert?.text).toContain('socket hang up in scan');
  });

  it('emails the user when the delivery was by email, in plain words', async () => {
    const deps = makeFakeDeps();
    await handleExportFailure(deps, { executionArn, job: jobOf('email'), failure: lambdaFailure });
    const [mail] = deps.mailer.to('alice@example.com');
    expect(mail?.subject).toBe('Your Ferry export could not be completed');
    expect(mail?.text).toContain('unexpected error');
    expect(mail?.text).not.toContain('socket hang up');
    expect(deps.push.posted).toEqual([]);
  });

  it('posts export.failed on the connection when the delivery was by push and the browser is connected', async () => {
    const deps = makeFakeDeps();
    await deps.rendezvous.attachConnection(executionArn, 'conn-1');
    await handleExportFailure(deps, { executionArn, job: jobOf('push'), failure: { Error: 'States.Timeout' } });
    expect(deps.push.posted).toEqual([
      { connectionId: 'conn-1', message: { type: 'export.failed', executionArn, error: 'The export took too long and was stopped.' } },
    ]);
    expect(deps.mailer.to('alice@example.com')).toEqual([]);
  });

  it('tells no one but the admins when the push connection is unknown', async () => {
    const deps = makeFakeDeps();
    await handleExportFailure(deps, { executionArn, job: jobOf('push'), failure: lambdaFailure });
    expect(deps.push.posted).toEqual([]);
    expect(deps.mailer.sent.map((mail) => mail.to)).toEqual(['admins@example.com']);
  });

  it('leaves a direct export to polling, only alerting the admins', async () => {
    const deps = makeFakeDeps();
    await handleExportFailure(deps, { executionArn, job: jobOf('direct'), failure: lambdaFailure });
    expect(deps.mailer.sent.map((mail) => mail.to)).toEqual(['admins@example.com']);
    expect(deps.push.posted).toEqual([]);
  });

  it('still audits, and fails so the task is retried, when the mail cannot be sent', async () => {
    const deps = makeFakeDeps();
    deps.mailer.failure = new Transient('mail service throttled');
    await expect(handleExportFailure(deps, { executionArn, job: jobOf('email'), failure: lambdaFailure })).rejects.toBeInstanceOf(Transient);
    expect(deps.audit.entries.has('export:export-0001:FAILED')).toBe(true);
  });
});

describe('the plain words for a failure', () => {
  it.each([
    [{ Error: 'States.Timeout' }, 'took too long'],
    [{ Error: 'Transient', Cause: 'search cluster busy' }, 'unavailable'],
    [{ Error: 'Lambda.TooManyRequestsException' }, 'unavailable'],
    [{ Error: 'InvalidInput', Cause: JSON.stringify({ errorMessage: 'searchCriteria.from: invalid date' }) }, 'searchCriteria.from: invalid date'],
    [{ Error: 'TypeError', Cause: 'x is undefined' }, 'unexpected error'],
  ])('for %j mentions %j', (failure, words) => {
    expect(plainFailure(failure)).toContain(words);
  });
});
