/** An HTTP answer that was not a success, kept with the server's own message when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly serverMessage?: string,
  ) {
    super(serverMessage ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

/** What a person should read for any failure: plain words, never raw JSON or a stack trace. */
export function plainMessage(error: unknown): string {
  if (error instanceof ApiError) {
    const detail = error.serverMessage ? ` ${sentence(error.serverMessage)}` : '';
    switch (true) {
      case error.status === 0:
        return 'Ferry could not be reached. Check your connection and try again.';
      case error.status === 400 || error.status === 422:
        return `Please check what you entered.${detail}`;
      case error.status === 401:
        return 'Your session has ended. Please sign in again.';
      case error.status === 403:
        return 'You do not have permission to do that.';
      case error.status === 404:
        return 'That could not be found. It may have expired or belong to someone else.';
      case error.status === 409:
        return `That is already in progress.${detail}`;
      case error.status === 413:
        return 'That file is too large for Ferry.';
      case error.status === 429:
        return 'Ferry is busy right now. Please try again in a moment.';
      default:
        return 'Something went wrong on our side. Please try again in a moment.';
    }
  }
  if (error instanceof DOMException && error.name === 'AbortError') return 'Cancelled.';
  if (error instanceof TypeError) return 'Ferry could not be reached. Check your connection and try again.';
  if (error instanceof Error && error.message && !looksLikeJson(error.message)) return sentence(error.message);
  return 'Something went wrong. Please try again.';
}

const looksLikeJson = (text: string) => /^\s*[[{]/.test(text);

/** Ends the server's message with a full stop; its first word may be a field name, so case is kept. */
const sentence = (text: string): string => {
  const trimmed = text.trim();
  return !trimmed || /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
};

/** Reads `{"message"}` / `{"error"}` from an error body; anything else is dropped, never shown raw. */
export async function serverMessageOf(response: Response): Promise<string | undefined> {
  const text = await response.text().catch(() => '');
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null) {
      const { message, error } = body as { message?: unknown; error?: unknown };
      const found = typeof message === 'string' ? message : typeof error === 'string' ? error : undefined;
      if (found && found.length <= 300) return found;
    }
  } catch {
    // Not JSON (an HTML error page from a proxy, say): say nothing rather than show markup.
  }
  return undefined;
}
