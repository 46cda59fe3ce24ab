# syntax=docker/dockerfile:1
# runstream: one image for every role; the command picks it
#   docker run runstream:dev ingest|processor|exporter|all|topics create|...
# Node 24 LTS (package.json engines). For a reproducible image pin the base by digest,
# e.g. --build-arg NODE_IMAGE=node:24-slim@sha256:<digest> (`docker buildx imagetools
# inspect node:24-slim` shows it), and move the pin when Node 24 has a security release.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# The package's own `prepare` script is the build, which needs the sources copied
# below: skip scripts here, then run the install steps that matter: the kafkajs patch
# (patches/, see docs/kafkajs-notes.md), and a load of the RocksDB binding, which ships
# prebuilt for linux-x64 (glibc) only and cannot be compiled here: build for linux/amd64.
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && npx patch-package \
  && node -e "require('@nxtedition/rocksdb')"
COPY . .
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# Two malloc arenas, not glibc's eight per core: RocksDB's threads and libuv's each took
# one and kept what they had freed, 140 MB more resident memory in a processor's full
# restore of 1M entities (docs/operations.md, sizing). The benchmark runs with the same.
ENV MALLOC_ARENA_MAX=2
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
