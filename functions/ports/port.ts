import type { Config } from '../config';

/** How one port is built from the configuration; `wired` and `lazyDeps` call it at most once, on first use. */
export type PortBuilder<T> = (config: Config) => T;

export const required = <T>(value: T | undefined, variable: string): T => {
  if (value === undefined) throw new Error(`Ferry configuration is incomplete: ${variable} is not set`);
  return value;
};

/** One value per configuration (a process has one): what several ports share, such as a client. */
export function perConfig<T>(build: (config: Config) => T): (config: Config) => T {
  const built = new WeakMap<Config, T>();
  return (config) => {
    if (!built.has(config)) built.set(config, build(config));
    return built.get(config) as T;
  };
}

let adaptClient = <C extends object>(client: C): C => client;

/**
 * Lets a home wrap every AWS SDK client the ports build (the local stack authorises each call against the
 * calling function's role); in AWS nothing is installed and clients are used as built.
 */
export function adaptAwsClients(adapt: <C extends object>(client: C) => C): void {
  adaptClient = adapt;
}

/** Every SDK client a port builds passes through here. */
export const awsClient = <C extends object>(client: C): C => adaptClient(client);
