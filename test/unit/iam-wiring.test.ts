import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { repositoryIam } from './repository-iam';
import { asFunction, installLocalIam, localIamModeFromEnv, recordedDecisions, withLocalIam } from '../../infra/local/iam/wiring';
import { testCredentials } from './aws-fakes';

const iam = repositoryIam();
// Nothing listens here: a request that got past the IAM check would fail with a connection error instead.
const client = () => new S3Client({ region: 'us-east-1', credentials: testCredentials, endpoint: 'http://127.0.0.1:9', forcePathStyle: true, maxAttempts: 1 });

afterEach(() => installLocalIam(iam, 'off'));

describe('LOCAL_IAM wiring', () => {
  it('a call the function’s role does not grant fails with S3’s AccessDenied before it leaves the process', async () => {
    installLocalIam(iam, 'enforce');
    const s3 = withLocalIam(client());
    const read = asFunction('search', () => s3.send(new GetObjectCommand({ Bucket: 'ferry-exports', Key: 'exports/u/e.csv' })));
    await expect(read).rejects.toMatchObject({ name: 'AccessDenied', message: expect.stringContaining('assumed-role/SearchRole/ferry-local-search') });
    expect(recordedDecisions()).toContainEqual(expect.objectContaining({ role: 'SearchRole', action: 's3:GetObject', decision: 'ImplicitDeny' }));
  });

  it('off leaves the client untouched, and the switch refuses unknown modes', async () => {
    installLocalIam(iam, 'off');
    const s3 = withLocalIam(client());
    await expect(asFunction('search', () => s3.send(new GetObjectCommand({ Bucket: 'ferry-exports', Key: 'k' })))).rejects.not.toMatchObject({ name: 'AccessDenied' });
    expect(localIamModeFromEnv({})).toBe('enforce');
    expect(() => localIamModeFromEnv({ LOCAL_IAM: 'yes' })).toThrow(/enforce, record or off/);
  });
});
