import { useState } from 'react';
import { ExportsList } from '../components/ExportsPanel';
import { plainMessage } from '../lib/errors';
import { useUser } from '../services';

/** Every export of this user and those shared with them, from the server (`GET /api/exports`). */
export function ExportsPage() {
  const { exports } = useUser();
  const [problem, setProblem] = useState<string>();
  const named = window.location.hash.startsWith('#/exports/') ? decodeURIComponent(window.location.hash.slice('#/exports/'.length)) : undefined;
  const refresh = () => {
    setProblem(undefined);
    exports.load().catch((error: unknown) => setProblem(`The list could not be loaded. ${plainMessage(error)}`));
  };
  return (
    <div className="exports-page">
      <h1 tabIndex={-1}>Exports</h1>
      <p className="muted">
        Your exports and those shared with you, kept on the server: any browser you sign in from shows the same list. Times are in UTC.
      </p>
      <button type="button" className="button small" onClick={refresh}>
        Refresh
      </button>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      <ExportsList first={named} />
    </div>
  );
}
