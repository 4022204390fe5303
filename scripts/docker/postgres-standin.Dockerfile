# A local stand-in for the official postgres:15 image, for machines without an image registry
# (scripts/docker-smoke.sh builds it on top of its stand-in for the Dockerfile's node base image, which is
# Debian bookworm). It
# speaks the official image's interface as far as compose.yaml uses it: POSTGRES_USER, POSTGRES_PASSWORD
# and POSTGRES_DB create the role and database on first start, data in /var/lib/postgresql/data,
# password (scram-sha-256) logins from the network, pg_isready on PATH.
ARG BASE_IMAGE=node:24-slim
FROM ${BASE_IMAGE}

USER root
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && chmod 0700 /var/lib/postgresql/data

COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
RUN chmod 0755 /usr/local/bin/postgres-entrypoint.sh

ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data
# A fresh named volume takes this directory's owner, so the server can run unprivileged from the start.
VOLUME /var/lib/postgresql/data
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["postgres-entrypoint.sh"]
CMD ["postgres"]
