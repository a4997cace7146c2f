import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { ExecutionAlreadyStarted, NotFound } from '../../core/errors';
import type { ExecutionDescription, ExecutionService, ExecutionSummary, WorkflowName } from '../../core/ports';
import { awsErrorName, translateAwsError } from './transient';

/** A task token that no longer waits: already resumed (a double send), timed out, or never existed. */
const SPENT_TOKEN_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/**
 * Step Functions executions (AWS, or the local service speaking the same API). Spent task tokens
 * surface as `NotFound` so the domain can tell a harmless double send from a real failure.
 */
export class StepFunctionsExecutions implements ExecutionService {
  constructor(
    private readonly sfn: SFNClient,
    private readonly arns: Record<WorkflowName, string>,
  ) {}

  async start(workflow: WorkflowName, name: string, input: unknown): Promise<{ executionArn: string }> {
    const stateMachineArn = this.arns[workflow];
    if (!stateMachineArn) throw new Error(`No state machine is configured for the ${workflow} workflow.`);
    try {
      const { executionArn } = await this.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      if (!executionArn) throw new Error(`StartExecution for ${workflow} returned no executionArn`);
      return { executionArn };
    } catch (error) {
      // Step Functions' word for a name already used; the domain has its own.
      if (awsErrorName(error) === 'ExecutionAlreadyExists')
        throw new ExecutionAlreadyStarted(`The ${workflow} execution ${name} has already started.`, { cause: error });
      translateAwsError(error, `starting the ${workflow} workflow`);
    }
  }

  async describe(executionArn: string): Promise<ExecutionDescription | undefined> {
    try {
      const out = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return {
        executionArn: out.executionArn ?? executionArn,
        status: out.status ?? 'RUNNING',
        input: parseJson(out.input),
        ...(out.output !== undefined ? { output: parseJson(out.output) } : {}),
        ...(out.error !== undefined ? { error: out.error } : {}),
        ...(out.cause !== undefined ? { cause: out.cause } : {}),
        startDate: out.startDate ?? new Date(0),
        ...(out.stopDate ? { stopDate: out.stopDate } : {}),
      };
    } catch (error) {
      // A malformed ARN is as absent as an unknown one: the caller typed it.
      const name = awsErrorName(error);
      if (name === 'ExecutionDoesNotExist' || name === 'InvalidArn') return undefined;
      translateAwsError(error, `describing ${executionArn}`);
    }
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<void> {
    try {
      await this.sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    } catch (error) {
      throwSpentTokenAsNotFound(error);
      translateAwsError(error, 'resuming a waiting task');
    }
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    try {
      await this.sfn.send(new SendTaskFailureCommand({ taskToken, error, cause }));
    } catch (sendError) {
      throwSpentTokenAsNotFound(sendError);
      translateAwsError(sendError, 'failing a waiting task');
    }
  }

  async stop(executionArn: string, cause: string): Promise<void> {
    try {
      await this.sfn.send(new StopExecutionCommand({ executionArn, cause }));
    } catch (error) {
      // Already gone is as good as stopped: the caller wants it not to run.
      if (awsErrorName(error) === 'ExecutionDoesNotExist') return;
      translateAwsError(error, `stopping ${executionArn}`);
    }
  }

  async list(workflow: WorkflowName, status: ExecutionDescription['status'], options: { limit: number }): Promise<ExecutionSummary[]> {
    const stateMachineArn = this.arns[workflow];
    if (!stateMachineArn) return [];
    try {
      const out = await this.sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: status, maxResults: options.limit }));
      return (out.executions ?? []).map((e) => ({
        executionArn: e.executionArn ?? '',
        workflow,
        name: e.name ?? '',
        status: e.status ?? status,
        startDate: e.startDate ?? new Date(0),
        ...(e.stopDate ? { stopDate: e.stopDate } : {}),
      }));
    } catch (error) {
      translateAwsError(error, `listing ${workflow} executions`);
    }
  }
}

function throwSpentTokenAsNotFound(error: unknown): void {
  const name = awsErrorName(error);
  if (name && SPENT_TOKEN_ERRORS.has(name)) throw new NotFound(`The task is no longer waiting (${name}).`, { cause: error });
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
