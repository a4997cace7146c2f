import { useSyncExternalStore } from 'react';
import { useUser } from '../services';

/** The "your job finished" messages, in one live region at the corner of every page. */
export function Toasts() {
  const { notifier } = useUser();
  const toasts = useSyncExternalStore(notifier.subscribe, notifier.list);
  return (
    <div className="toasts" role="status" aria-live="polite" aria-label="Notifications">
      {toasts.map((toast) => (
        <div key={toast.id} className={`toast ${toast.tone}`}>
          <a href={toast.href}>{toast.text}</a>
          <button type="button" className="link-button" onClick={() => notifier.dismiss(toast.id)}>
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}
