import { Component, type ErrorInfo, type ReactNode } from 'react';
import { plainMessage } from '../lib/errors';

interface State {
  error?: unknown;
}

/** Never a blank page: a crash in any screen shows what happened and a way back. */
export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  override state: State = {};

  static getDerivedStateFromError(error: unknown): State {
    return { error };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    console.error('Ferry screen crashed', error, info.componentStack);
  }

  override render(): ReactNode {
    if (this.state.error === undefined) return this.props.children;
    return (
      <section className="page narrow" role="alert">
        <h1>Something went wrong</h1>
        <p>This screen ran into a problem: {plainMessage(this.state.error)}</p>
        <p>Your exports and uploads keep running on the server.</p>
        <button type="button" className="button primary" onClick={() => window.location.reload()}>
          Reload Ferry
        </button>
      </section>
    );
  }
}
