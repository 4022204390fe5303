# A local stand-in for the official node:<major>-slim the project's Dockerfile starts from (node:24-slim),
# for machines without an image registry (scripts/docker-smoke.sh builds it and picks the Node and npm).
# Same layout as the official image: node and npm in /usr/local, user `node` with uid 1000. It also
# carries what the official image does not, because a real user's network provides it instead: a C++
# toolchain and Node's headers to compile better-sqlite3 (its prebuilt binary cannot be downloaded
# here), and the machine's CA bundle for the TLS proxy.
FROM hookvault-smoke/bookworm-minbase

ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node

COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY include/node /usr/local/include/node
COPY ca-bundle.crt /usr/local/share/node-standin/ca-bundle.crt

RUN chmod 0755 /usr/local/bin/node \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && mkdir -p /usr/local/etc \
 && printf '%s\n' 'cafile=/usr/local/share/node-standin/ca-bundle.crt' 'nodedir=/usr/local' \
      'update-notifier=false' 'fund=false' 'audit=false' > /usr/local/etc/npmrc \
 && node --version && npm --version

# npm warns about nodedir in npmrc; node-gyp reads this variable in every case.
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/node-standin/ca-bundle.crt \
    npm_config_nodedir=/usr/local
CMD ["node"]
