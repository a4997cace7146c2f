import { describe, expect, it } from 'vitest';
import { cognitoPoolFromEnv, parseConfig } from '../../functions/config';

const base = {
  EXPORTS_BUCKET: 'e',
  EXPORT_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:x',
  UPLOADS_BUCKET: 'u',
  PERMANENT_BUCKET: 'p',
  QUARANTINE_BUCKET: 'q',
  JWT_ISSUER: 'http://localhost:3000/api/local',
  JWT_AUDIENCE: 'ferry-local',
  JWKS_URL: 'http://localhost:3000/api/local/jwks.json',
};
const pool = { AUTH_MODE: 'cognito', COGNITO_USER_POOL_ID: 'eu-west-1_abc', COGNITO_CLIENT_ID: 'client1', COGNITO_REGION: 'eu-west-1' };

describe('AUTH_MODE=cognito', () => {
  it("verifies against the pool's issuer, app client and JWKS in AWS", () => {
    const config = parseConfig({ ...base, ...pool });
    expect(config.authMode).toBe('cognito');
    expect(config.jwtIssuer).toBe('https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc');
    expect(config.jwtAudience).toBe('client1');
    expect(config.jwksUrl).toBe('https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json');
  });

  it("keeps Cognito's issuer but fetches the JWKS from a custom endpoint (an emulator)", () => {
    const config = parseConfig({ ...base, ...pool, COGNITO_ENDPOINT: 'http://127.0.0.1:5000/' });
    expect(config.jwtIssuer).toBe('https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc');
    expect(config.jwksUrl).toBe('http://127.0.0.1:5000/eu-west-1_abc/.well-known/jwks.json');
    expect(config.cognito?.endpoint).toBe('http://127.0.0.1:5000');
  });

  it('names the missing pool settings at start-up', () => {
    expect(() => parseConfig({ ...base, AUTH_MODE: 'cognito', COGNITO_REGION: 'eu-west-1' })).toThrow(
      'AUTH_MODE=cognito needs COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID',
    );
    expect(() => cognitoPoolFromEnv({ AUTH_MODE: 'cognitoo' })).toThrow('AUTH_MODE must be "local" or "cognito"');
  });

  it('leaves the local issuer in charge when AUTH_MODE is unset', () => {
    const config = parseConfig(base);
    expect(config.authMode).toBe('local');
    expect(config.cognito).toBeUndefined();
    expect(config.jwtIssuer).toBe(base.JWT_ISSUER);
  });

  it('passes SES_ENDPOINT to the SES v2 client', () => {
    expect(parseConfig({ ...base, MAIL_TRANSPORT: 'ses', SES_ENDPOINT: 'http://127.0.0.1:5000' }).sesEndpoint).toBe('http://127.0.0.1:5000');
  });
});
