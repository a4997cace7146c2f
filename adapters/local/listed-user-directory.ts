import type { JobPerson } from '../../core/export/records';
import type { UserDirectory } from '../../core/ports';

/** The local token issuer's users (infra/local/local-auth.ts): nothing local speaks Cognito's admin API then. */
export class ListedUserDirectory implements UserDirectory {
  constructor(private readonly people: readonly JobPerson[]) {}

  async findByUsernames(usernames: readonly string[]): Promise<JobPerson[]> {
    return this.people.filter((person) => usernames.includes(person.username)).map((person) => ({ ...person }));
  }
}
