export const formatCount = (n: number): string => new Intl.NumberFormat('en').format(n);

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "expires in 71 h", "expires in 12 min" or "expired". */
export function expiryText(expiresAt: string, now: number): string {
  const left = Date.parse(expiresAt) - now;
  if (Number.isNaN(left)) return '';
  if (left <= 0) return 'expired';
  const hours = Math.floor(left / 3_600_000);
  if (hours >= 1) return `expires in ${hours} h`;
  return `expires in ${Math.max(1, Math.floor(left / 60_000))} min`;
}

export function elapsedText(since: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  if (Number.isNaN(seconds)) return '';
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

export const formatDateTime = (iso: string): string => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
};

/**
 * "2024-06-01 12:00 UTC": the one way the search page writes a moment, in the same YYYY-MM-DD as its date
 * fields, and in UTC, the time zone the server reads those dates in.
 */
export const formatUtcDateTime = (iso: string): string => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 16)} UTC`;
};

/** "expires 2025-01-13 11:30 UTC (in 71 h)", or "expired 2025-01-10 10:00 UTC": the date and the countdown together. */
export function expiryWithDate(expiresAt: string, now: number): string {
  const left = expiryText(expiresAt, now);
  if (!left) return '';
  const date = formatUtcDateTime(expiresAt);
  return left === 'expired' ? `expired ${date}` : `expires ${date} (${left.replace('expires ', '')})`;
}
