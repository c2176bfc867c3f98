import { defineConfig } from 'vite';

// `npm run dev -w packages/demo` proxies WHEP to a server started with `npm start`.
export default defineConfig({
  build: { outDir: 'dist', target: 'es2022', emptyOutDir: true },
  server: {
    proxy: {
      '/whep': 'http://localhost:8765',
      '/avatars': 'http://localhost:8765',
      '/features': 'http://localhost:8765',
    },
  },
});
