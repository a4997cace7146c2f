import type { Clock } from '../../core/ports';
import type { PortBuilder } from './port';

export const clock: PortBuilder<Clock> = () => ({ now: () => new Date() });
