import { useEffect, useRef, useState } from 'react';
import { ErrorBoundary } from './components/ErrorBoundary';
import { Toasts } from './components/Toasts';
import { AdminPage } from './pages/AdminPage';
import { ExportsPage } from './pages/ExportsPage';
import { ImportPage } from './pages/ImportPage';
import { ImportsPage } from './pages/ImportsPage';
import { ResourcesPage } from './pages/ResourcesPage';
import { SearchPage } from './pages/SearchPage';
import { SignInPage } from './pages/SignInPage';
import { ServicesProvider, UserServicesProvider, useServices, useSession, useUser, type Services } from './services';

export function App({ services }: { services: Services }) {
  return (
    <ErrorBoundary>
      <ServicesProvider services={services}>
        <SignedInOrNot />
      </ServicesProvider>
    </ErrorBoundary>
  );
}

function SignedInOrNot() {
  const { user } = useSession();
  if (!user) return <SignInPage />;
  return (
    <UserServicesProvider key={user.claims.username} user={user}>
      <Shell />
    </UserServicesProvider>
  );
}

type Route = 'search' | 'exports' | 'import' | 'imports' | 'resources' | 'admin';

const ROUTES: Record<string, Route> = {
  '#/exports': 'exports',
  '#/import': 'import',
  '#/imports': 'imports',
  '#/resources': 'resources',
  '#/admin': 'admin',
};
// `#/exports/{exportId}` is one export's page (the email links to it): the Exports page, that export first.
const routeOf = (hash: string): Route => ROUTES[hash] ?? (hash.startsWith('#/exports/') ? 'exports' : 'search');

function useHashRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(routeOf(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function Shell() {
  const { session } = useServices();
  const { user } = useUser();
  const route = useHashRoute();
  const isAdmin = user.claims.groups.includes('admin');
  const mainRef = useRef<HTMLElement>(null);
  const firstRender = useRef(true);

  // Move focus to the new page's heading on navigation, as a full page load would.
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    mainRef.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route]);

  const link = (to: Route, href: string, label: string) => (
    <a href={href} aria-current={route === to ? 'page' : undefined}>
      {label}
    </a>
  );

  return (
    <>
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); mainRef.current?.querySelector<HTMLElement>('h1')?.focus(); }}>
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Ferry</span>
        <nav aria-label="Main">
          {link('search', '#/', 'Search')}
          {link('exports', '#/exports', 'Exports')}
          {link('import', '#/import', 'Import')}
          {link('imports', '#/imports', 'Imports')}
          {link('resources', '#/resources', 'Resources')}
          {isAdmin && link('admin', '#/admin', 'Admin')}
        </nav>
        <div className="who">
          <span>
            Signed in as <strong>{user.claims.username}</strong>
          </span>
          <button type="button" className="button" onClick={() => void session.signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main ref={mainRef} id="main" className="page">
        <ErrorBoundary key={route}>
          {route === 'search' && <SearchPage />}
          {route === 'exports' && <ExportsPage />}
          {route === 'import' && <ImportPage />}
          {route === 'imports' && <ImportsPage />}
          {route === 'resources' && <ResourcesPage />}
          {route === 'admin' && <AdminPage />}
        </ErrorBoundary>
      </main>
      <Toasts />
    </>
  );
}
