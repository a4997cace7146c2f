import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { UserDirectory } from '../../core/ports';
import { CognitoUserDirectory } from '../../adapters/aws/cognito-user-directory';
import { awsClient, required, type PortBuilder } from './port';

/** The user pool that signs people in: COGNITO_* when AUTH_MODE=cognito, else USER_POOL_ID (AWS). */
export const users: PortBuilder<UserDirectory> = (config) => {
  const region = config.cognito?.region ?? config.region;
  const endpoint = config.cognito?.endpoint;
  const client = awsClient(new CognitoIdentityProviderClient({ region, ...(endpoint ? { endpoint } : {}) }));
  return new CognitoUserDirectory(client, required(config.cognito?.userPoolId ?? config.userPoolId, 'USER_POOL_ID'));
};
