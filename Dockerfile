# syntax=docker/dockerfile:1
# Coffer's production image: a build stage with the Rust toolchain, then a small Debian
# runtime with only the binary and the client tools Coffer runs (pg_dump/pg_restore/psql,
# mariadb-dump/mariadb, redis-server for Redis restores). docker-compose.prod.yml uses it:
#   docker compose -f docker-compose.prod.yml --env-file deploy/coffer.env build

ARG DEBIAN_RELEASE=bookworm

FROM rust:1-${DEBIAN_RELEASE} AS build
# libpq is linked from the system (SQLite is built in), as the runtime stage installs it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the crate downloads and compiled dependencies between builds; the binary
# is copied out because the target folder is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin coffer \
 && install -m 0755 target/release/coffer /usr/local/bin/coffer

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG DEBIAN_RELEASE
# pg_dump must be at least as new as the PostgreSQL servers it backs up: the client comes
# from the PostgreSQL project's repository (PGDG), as Debian's own is version 15. Raise it
# with `--build-arg PG_MAJOR=18` when your servers are newer.
ARG PG_MAJOR=17
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    install -d /usr/share/postgresql-common/pgdg; \
    curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
        https://www.postgresql.org/media/keys/ACCC4CF8.asc; \
    echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${DEBIAN_RELEASE}-pgdg main" \
        > /etc/apt/sources.list.d/pgdg.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        libpq5 tini \
        "postgresql-client-${PG_MAJOR}" mariadb-client redis-tools redis-server; \
    apt-get purge -y --auto-remove curl; \
    rm -rf /var/lib/apt/lists/*; \
    pg_dump --version; mariadb-dump --version; redis-server --version

# An unprivileged user owns the data folder; the key folder inside it is its alone (0700).
# Named volumes mounted there start with these owners and modes.
RUN set -eux; \
    groupadd --system --gid 10001 coffer; \
    useradd --system --uid 10001 --gid coffer --home-dir /var/lib/coffer \
        --shell /usr/sbin/nologin coffer; \
    install -d -o coffer -g coffer -m 0750 /var/lib/coffer; \
    install -d -o coffer -g coffer -m 0700 /var/lib/coffer/keys; \
    install -d -m 0755 /etc/coffer

COPY --from=build /usr/local/bin/coffer /usr/local/bin/coffer
# Defaults for a container started on its own (local storage in the data volume); the
# compose file mounts deploy/coffer.toml here instead.
COPY deploy/container-defaults.toml /etc/coffer/coffer.toml
ENV COFFER_CONFIG=/etc/coffer/coffer.toml

USER coffer
WORKDIR /var/lib/coffer
VOLUME ["/var/lib/coffer", "/var/lib/coffer/keys"]
EXPOSE 8080

# `coffer health` asks /health on the configured bind address (no curl in this image).
# A `coffer worker` container serves no HTTP: the compose file turns the check off there.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["coffer", "health"]

# tini as PID 1 reaps the client tools' processes and passes SIGTERM on, which lets running
# jobs finish before Coffer exits.
ENTRYPOINT ["/usr/bin/tini", "--", "coffer"]
CMD ["serve"]
