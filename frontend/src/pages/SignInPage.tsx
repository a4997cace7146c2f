import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { plainMessage } from '../lib/errors';
import { useServices, useSession } from '../services';
import { Spinner } from '../components/Spinner';

export function SignInPage() {
  const { session } = useServices();
  const { notice } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const errorRef = useRef<HTMLParagraphElement>(null);
  const id = useId();

  useEffect(() => {
    if (error) errorRef.current?.focus();
  }, [error]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await session.signIn(username.trim(), password);
    } catch (e) {
      setError(plainMessage(e));
      setBusy(false);
    }
  };

  return (
    <main className="page narrow" id="main">
      <h1>Sign in to Ferry</h1>
      {notice && !error && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form className="card stack" onSubmit={submit} aria-describedby={session.authMode === 'local' ? `${id}-hint` : undefined}>
        <label htmlFor={`${id}-username`}>Username</label>
        <input
          id={`${id}-username`}
          name="username"
          autoComplete="username"
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <label htmlFor={`${id}-password`}>Password</label>
        <input
          id={`${id}-password`}
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        {error && (
          <p className="error" role="alert" tabIndex={-1} ref={errorRef}>
            {error}
          </p>
        )}
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? (
            <>
              <Spinner /> Signing in…
            </>
          ) : (
            'Sign in'
          )}
        </button>
      </form>
      {session.authMode === 'local' && (
        <p id={`${id}-hint`} className="hint">
          Demo users: alice, bob (members) and admin. Local demo password: ferry
        </p>
      )}
    </main>
  );
}
