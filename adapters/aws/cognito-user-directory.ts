import { AdminGetUserCommand, type CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { JobPerson } from '../../core/export/records';
import type { UserDirectory } from '../../core/ports';
import { awsErrorName, translateAwsError } from './transient';

/**
 * The people of a Cognito user pool, looked up one by one (AdminGetUser): a share names a few.
 * `userId` is the `sub` attribute, as in the ID tokens (functions/auth.ts).
 */
export class CognitoUserDirectory implements UserDirectory {
  constructor(
    private readonly cognito: CognitoIdentityProviderClient,
    private readonly userPoolId: string,
  ) {}

  async findByUsernames(usernames: readonly string[]): Promise<JobPerson[]> {
    const found: JobPerson[] = [];
    for (const username of usernames) {
      try {
        const out = await this.cognito.send(new AdminGetUserCommand({ UserPoolId: this.userPoolId, Username: username }));
        const attribute = (name: string) => out.UserAttributes?.find((a) => a.Name === name)?.Value;
        if (out.Enabled === false) continue;
        found.push({ userId: attribute('sub') ?? out.Username ?? username, username: out.Username ?? username, email: attribute('email') ?? '' });
      } catch (error) {
        if (awsErrorName(error) === 'UserNotFoundException') continue;
        translateAwsError(error, `looking up user ${username}`);
      }
    }
    return found;
  }
}
