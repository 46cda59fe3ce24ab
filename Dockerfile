# syntax=docker/dockerfile:1
# runstream: one image for every role; the command picks it
#   docker run runstream:dev ingest|processor|exporter|all|topics create|...
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# rocksdb ships a prebuilt binding for linux-x64 only; elsewhere (arm64) npm compiles it.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY patches ./patches
# The package's own `prepare` script is the build, which needs the sources copied
# below: skip scripts here, then run the install steps that matter: rocksdb's binding
# and the kafkajs patch (patches/, see docs/kafkajs-notes.md).
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && npm rebuild rocksdb --no-audit --no-fund \
  && npx patch-package
COPY . .
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Code and dependencies stay owned by root: the service user can read, not change them.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# The processor's RocksDB root; a volume mounted here inherits the ownership.
RUN mkdir -p /var/lib/runstream && chown node:node /var/lib/runstream
ENV RUNSTREAM_STATE_DIR=/var/lib/runstream
USER node
# ingest, processor, exporter (RUNSTREAM_INGEST_PORT, _PROCESSOR_PORT, _EXPORTER_PORT)
EXPOSE 8080 9400 9464
ENTRYPOINT ["node", "bin/runstream.js"]
CMD ["--help"]
