/**
 * A fake for the `send` of AWS SDK v3 clients: real clients (so config, signing and presigning are
 * real), with `send` replaced by one that records each command and answers from a handler.
 * No network and no module mocking.
 */
export interface SentCommand {
  name: string;
  input: Record<string, unknown>;
}

type Answer = (command: SentCommand) => unknown;

export class FakeSend {
  readonly sent: SentCommand[] = [];
  private readonly answers = new Map<string, Answer>();

  /** Answer commands named `name` (e.g. 'PutObjectCommand') with `answer`'s result, or its throw. */
  on(name: string, answer: Answer): this {
    this.answers.set(name, answer);
    return this;
  }

  /** Installs this fake as `client.send` and returns the client. */
  install<C extends object>(client: C): C {
    // The SDK's send is overloaded (callbacks, options); every adapter uses the promise form only.
    (client as unknown as { send: (command: unknown) => Promise<unknown> }).send = async (command: unknown) => {
      const sent = { name: (command as object).constructor.name, input: (command as { input: Record<string, unknown> }).input };
      this.sent.push(sent);
      const answer = this.answers.get(sent.name);
      if (!answer) throw new Error(`FakeSend has no answer for ${sent.name}`);
      return answer(sent);
    };
    return client;
  }

  named(name: string): SentCommand[] {
    return this.sent.filter((command) => command.name === name);
  }
}

/** An error shaped like the SDK's service exceptions. */
export function awsError(name: string, httpStatusCode: number, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode } });
}

export const testCredentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret-test' };
