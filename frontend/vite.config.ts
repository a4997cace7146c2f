import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const frontendDir = fileURLToPath(new URL('.', import.meta.url));
/** The local stack serves the API, the WebSocket and /config.json; the dev server forwards to it. */
const localStack = process.env.FERRY_URL ?? 'http://localhost:3000';

export default defineConfig({
  root: frontendDir,
  plugins: [react()],
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    proxy: {
      '/api': localStack,
      '/config.json': localStack,
      '/ws': { target: localStack.replace(/^http/, 'ws'), ws: true },
    },
  },
});
