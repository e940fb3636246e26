# Production image: one image, four roles (`tally ingest|aggregate|broadcast|verify`).
# Not built on the development machines (no Docker engine there); kept correct by reading.

# ---- build: compile TypeScript with dev dependencies
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY schemas ./schemas
RUN npx tsc -p tsconfig.json

# ---- production dependencies only (rocksdb ships a prebuilt linux-x64 binary)
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# ---- runtime
FROM node:20-bookworm-slim
ENV NODE_ENV=production TALLY_ENV=production TALLY_HOST=0.0.0.0 TALLY_DATA_DIR=/var/lib/tally
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY schemas ./schemas
# The dashboard page is served from its source folder (plain HTML/JS/CSS, no build step).
COPY src/broadcast/dashboard ./src/broadcast/dashboard
COPY package.json ./
RUN mkdir -p /var/lib/tally && chown node:node /var/lib/tally
USER node
VOLUME ["/var/lib/tally"]
EXPOSE 3000 3001 3002
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["--help"]
