# One image for every long-running infergate command: `serve`, `epp`, `bbr` and `sim` (the entrypoint is
# `infergate`; the first argument picks the command). Build with `make image`.
#
# Stage 1 compiles with the dev dependencies and packs the project with `npm pack`, so the image holds exactly
# the files package.json's `files` ships (test/image/pack.test.ts proves that set runs on its own).
# Stage 2 installs that tarball's production dependencies only, from the project's lockfile.

ARG NODE_IMAGE=docker.io/library/node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.build.json && mkdir /out && npm pack --pack-destination /out

FROM ${NODE_IMAGE} AS runtime
# openssl: `infergate epp --secure-serving` without --cert-path makes its self-signed certificate with it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/ /tmp/pack/
COPY package-lock.json /app/package-lock.json
RUN tar xzf /tmp/pack/infergate-*.tgz -C /app --strip-components=1 \
 && rm -rf /tmp/pack \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && ln -s /app/bin/infergate.js /usr/local/bin/infergate
ENV NODE_ENV=production
# A numeric non-root user (the charts' runAsUser), so Kubernetes' runAsNonRoot can check it; /app is read-only to it.
USER 65532:65532
# Gateway listener 8080 is Envoy's, not ours. xDS 18000, control-plane admin 9091; EPP ext_proc 9002, health 9003,
# metrics 9090; BBR 9004 / 9005; simulator 8000.
EXPOSE 18000 9091 9002 9003 9090 9004 9005 8000
# Exec form, no init process: node runs as PID 1 and receives SIGTERM itself. The kernel drops signals a PID 1 has
# no handler for, but serve, epp, bbr and sim each handle SIGTERM and SIGINT (graceful stop, exit 0: proved in
# test/image/pack.test.ts), and none of them leaves child processes to reap (only `infergate up` spawns long-lived
# children, and it needs an Envoy this image does not carry), so tini would add nothing. `docker run --init` is
# still harmless if you prefer it.
ENTRYPOINT ["infergate"]
CMD ["--help"]
