# syntax=docker/dockerfile:1
# The exporter's image: built here, run non-root on a minimal Debian runtime.
#
#   docker build -t ghcr.io/kafka-security-exporter/kafka-security-exporter:0.1.0 \
#     --build-arg KSE_GIT_REVISION="$(git rev-parse --short HEAD)" .
#
# The Helm chart's default image is this one, tagged with the chart's appVersion (= Cargo.toml
# version). librdkafka is compiled into the binary; it links the system's OpenSSL, libcurl
# (OAUTHBEARER/OIDC), zlib and zstd, which the runtime stage installs (checked against the binary's
# NEEDED entries by tests/it/helm_chart.rs).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
# librdkafka's build: a C toolchain (in the image), cmake-free ./configure, and the -dev packages
# of what it links. Versions are not pinned: the release's current (security-patched) package is
# wanted, and old pins disappear from the Debian archive.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcurl4-openssl-dev libssl-dev libzstd-dev pkg-config python3 zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Manifests and sources only (.dockerignore keeps target/, .cache/, charts and tests out).
COPY Cargo.toml Cargo.lock ./
COPY benches benches
COPY src src
ARG KSE_GIT_REVISION=unknown
ENV KSE_GIT_REVISION=${KSE_GIT_REVISION}
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin kafka-security-exporter \
 && install -D -m 0755 target/release/kafka-security-exporter /out/kafka-security-exporter \
 && strip /out/kafka-security-exporter

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# Not pinned, like the build stage: the release's current security updates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libcurl4 libssl3 libzstd1 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 nonroot \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin nonroot
COPY --from=build /out/kafka-security-exporter /usr/local/bin/kafka-security-exporter
USER 65532:65532
EXPOSE 9976
ENTRYPOINT ["/usr/local/bin/kafka-security-exporter"]
CMD ["run", "--config", "/etc/kafka-security-exporter/config.yaml"]

LABEL org.opencontainers.image.title="kafka-security-exporter" \
      org.opencontainers.image.description="Kafka security events as Prometheus metrics" \
      org.opencontainers.image.source="https://github.com/kafka-security-exporter/kafka-security-exporter" \
      org.opencontainers.image.licenses="Apache-2.0"
