import { fileURLToPath, URL } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The dashboard: built into dist/web (served by the server at /app/), the SDK taken from its source
 * (client/src) so that nothing needs building first. `npx vite --config web/vite.config.ts` serves it
 * with hot reload, passing /api and /ws on to a server started with `npm start` (SCANCODE_URL).
 */
const server = process.env.SCANCODE_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: here('.'),
  base: '/app/',
  plugins: [vue()],
  resolve: { alias: { '@scancode/client': here('../client/src/index.ts') } },
  build: { outDir: here('../dist/web'), emptyOutDir: true, assetsDir: 'assets', chunkSizeWarningLimit: 1200, reportCompressedSize: false },
  server: { proxy: { '/api': server, '/ws': { target: server.replace(/^http/, 'ws'), ws: true } } },
});
