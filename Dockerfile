# timecoin node image (docs/docker.md). Multi-stage: build with the dev toolchain, run with the
# production dependencies only, as the unprivileged `node` user.
#
#   docker build -t timecoin:local .
#   docker run --rm -v "$PWD/testnet/node0:/data" -p 127.0.0.1:24101:24101 timecoin:local
#
# Base: Debian bookworm slim (glibc), so classic-level (LevelDB) and sodium-native (libsodium) load their prebuilt binaries.
ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: compile TypeScript to dist/ ---------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY chain ./chain
COPY consensus ./consensus
COPY p2p ./p2p
COPY rpc ./rpc
RUN npm run build

# --- deps: production node_modules only (classic-level's prebuilt LevelDB binary comes with it) --
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Memory (docs/performance.md "Memory (RSS)"; the same values as NODE_MEMORY_ENV in
# src/commands/testnet.ts): Node's defaults let V8 grow old space to 4x the live heap and the young
# generation to 32 MB, and glibc keep 8 malloc arenas per core and, after the first large free, keep
# buffers up to 32 MB in its fragmenting heap: 400+ MB RSS per validator under load instead of
# ~200 MB. Override with `docker run -e NODE_OPTIONS=... -e MALLOC_ARENA_MAX=...`.
ENV NODE_OPTIONS="--max-old-space-size=1024 --max-semi-space-size=16" MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY --from=deps --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --chown=root:root package.json ./
# The code stays root-owned and read-only to the node; only /data is the node user's.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
# Testnet defaults (SPEC §5): P2P 24100, RPC 24101. A generated compose testnet gives node i the
# RPC port 24101 + 2i (published on 127.0.0.1 only; docs/docker.md).
EXPOSE 24100 24101
# GET /health is 200 while the node is open and serving (SPEC §5). Node's own fetch, because the
# slim image has no curl. The port: TIMECOIN_RPC_PORT, else rpc.port in /data/config.json, else
# 24101. TLS-enabled RPC is not probed (see docs/docker.md).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const f='/data/config.json';let p=process.env.TIMECOIN_RPC_PORT;if(!p){try{p=JSON.parse(require('fs').readFileSync(f,'utf8')).rpc.port}catch{}}fetch('http://127.0.0.1:'+(p||24101)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["start", "--datadir", "/data"]
