# hookvault container image: build with dev dependencies and tsc, run with production dependencies only.
# Plain Dockerfile syntax on purpose: it builds with the legacy builder too (no `# syntax=`, no RUN --mount).
# Both stages on Node 24 LTS (Node 20 is past end of life): the same image for both, because the
# better-sqlite3 addon compiled in the first stage runs in the second and must match its Node ABI.

FROM node:24-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until package-lock.json changes. better-sqlite3
# downloads a prebuilt binary for this platform, or compiles one where that is not possible.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.ts ./scripts/build.ts
COPY schemas ./schemas
COPY src ./src
# Bundle to dist/server.js (scripts/build.ts), then drop dev dependencies; the compiled better-sqlite3
# addon and the other packages the bundle leaves outside stay in node_modules.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite:////data/app.db
WORKDIR /app
# Owned by root and read-only for the service user: the process can write only to /data.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The official image ships user `node` (uid 1000); the volume is created owned by it, so a fresh
# named volume inherits that ownership.
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 8000
# No curl in the slim image: Node's own fetch probes readiness (503 while shutting down or when the
# database cannot commit).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health/ready', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself, so graceful shutdown runs (src/server.ts).
CMD ["node", "dist/server.js"]
