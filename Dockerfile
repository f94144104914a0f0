# spagate in a container: the gateway daemon on the host's network stack.
# Build:  docker compose build   (or: docker build -t spagate .)
# Run:    docker compose up -d   (see docker-compose.yml and docs/install.md)
#
# Node 20 is not in Debian bookworm, so the official node:20-bookworm-slim image is the base.
# Three stages: `build` compiles TypeScript, `deps` installs only production dependencies
# (native addons: better-sqlite3, cap/libpcap) with the compilers they need, and the runtime
# stage gets the results without any compiler.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 build-essential libpcap-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# npm ci's postinstall rebuilds cap with a settable snapshot length (docs/capture.md).
COPY scripts/patch-cap.mjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 build-essential libpcap-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/patch-cap.mjs ./scripts/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
# libpcap for capture (the patched cap turns on immediate mode without libpcap-dev's
# libpcap.so); the firewall tools the backends call (iptables is iptables-nft here,
# nft for the nftables backend); iproute2 for operators; conntrack to cut revoked connections.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 iptables nftables iproute2 conntrack \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/spagate
ENV NODE_ENV=production
# Small young generation: resident memory stays under 200 MB with 10,000 grants (docs/performance.md).
ENV NODE_OPTIONS=--max-semi-space-size=1
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY views ./views
COPY public ./public
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
RUN chmod 0755 dist/cli/main.js \
 && ln -s /opt/spagate/dist/cli/main.js /usr/local/bin/spagate \
 && install -d -m 0700 /var/lib/spagate /etc/spagate
# The data directory (SQLite: grants, events, replay cache) belongs on a named volume.
VOLUME ["/var/lib/spagate"]
# Root inside the container, but docker-compose.yml drops every capability except
# NET_ADMIN and NET_RAW; see docs/security.md.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/opt/spagate/scripts/healthcheck.mjs"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["spagate"]
CMD ["start", "-f", "-c", "/etc/spagate/fwknopd.conf", "-a", "/etc/spagate/access.conf"]
