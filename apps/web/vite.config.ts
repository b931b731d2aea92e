import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2048 },
  server: {
    port: 5173,
    proxy: {
      '/api': 'http://127.0.0.1:8340',
      '/health': 'http://127.0.0.1:8340',
      '/ready': 'http://127.0.0.1:8340',
      '/metrics': 'http://127.0.0.1:8340',
    },
  },
});
