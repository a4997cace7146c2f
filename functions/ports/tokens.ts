import { createTokenVerifier, type TokenVerifier } from '../auth';
import type { PortBuilder } from './port';

export const tokens: PortBuilder<TokenVerifier> = (config) =>
  createTokenVerifier({ issuer: config.jwtIssuer, audience: config.jwtAudience, jwksUrl: config.jwksUrl });
