import { SFNClient } from '@aws-sdk/client-sfn';
import type { ExecutionService } from '../../core/ports';
import { StepFunctionsExecutions } from '../../adapters/aws/sfn-executions';
import { awsClient, type PortBuilder } from './port';

export const executions: PortBuilder<ExecutionService> = (config) =>
  new StepFunctionsExecutions(awsClient(new SFNClient({ region: config.region, ...(config.sfnEndpoint ? { endpoint: config.sfnEndpoint } : {}) })), {
    export: config.exportStateMachineArn,
    import: config.importStateMachineArn ?? '',
  });
