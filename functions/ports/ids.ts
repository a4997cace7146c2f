import { randomUUID } from 'node:crypto';
import type { IdGenerator } from '../../core/ports';
import type { PortBuilder } from './port';

export const ids: PortBuilder<IdGenerator> = () => ({ newId: () => randomUUID() });
