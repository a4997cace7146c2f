import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { loadConfig } from './config';
import { plainMessage } from './lib/errors';
import { createServices } from './services';
import './styles.css';

const root = createRoot(document.getElementById('root')!);

root.render(
  <p className="boot" role="status">
    Loading Ferry…
  </p>,
);

loadConfig(fetch.bind(globalThis))
  .then((config) => {
    root.render(
      <StrictMode>
        <App services={createServices(config)} />
      </StrictMode>,
    );
  })
  .catch((error: unknown) => {
    root.render(
      <main className="page narrow" role="alert">
        <h1>Ferry could not start</h1>
        <p>{plainMessage(error)}</p>
        <button type="button" className="button primary" onClick={() => window.location.reload()}>
          Try again
        </button>
      </main>,
    );
  });
