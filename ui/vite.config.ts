import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The build writes into dist/ without emptying it: dist/README.md is committed so
// that ui/embed.go's `//go:embed all:dist` always matches, even before `make ui`.
// The npm "clean" script removes the previous build's assets instead.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      "/api": { target: process.env.HAUL_API ?? "http://127.0.0.1:8081", changeOrigin: true },
      "/auth": { target: process.env.HAUL_API ?? "http://127.0.0.1:8081", changeOrigin: true },
    },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
