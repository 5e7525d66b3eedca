# syntax=docker/dockerfile:1
#
# drctl, the controller image.
#
#   docker build -t drctl:dev \
#     --build-arg VERSION="$(git describe --tags --always)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" .
#
# Two stages: a Rust toolchain builds the release binary, and a distroless runtime holds only
# that binary, glibc, libgcc and the CA bundle (the AWS SDK verifies TLS with the system roots
# through rustls-native-certs). There is no shell, no package manager and no root at run time.
# tests/tests/ship_dockerfile.rs checks the runtime stage against `drctl controller --help`.

# The toolchain is pinned to the workspace's rust-version or newer (Cargo.toml).
ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
# Everything the workspace needs to resolve and compile; .dockerignore keeps target/, .venv/
# and .git/ out of the context.
COPY . .
# The cache mounts keep the registry and the incremental build between image builds; the
# binary is copied out of the cached target/ because cache mounts are not part of the layer.
# --locked: the image is built from exactly the Cargo.lock that CI tested.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p drctl --bin drctl \
    && install -D -m 0755 target/release/drctl /out/drctl

# distroless/cc: glibc + libgcc + ca-certificates, user "nonroot" (65532), no shell.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="drctl" \
      org.opencontainers.image.description="Declarative disaster recovery controller for AWS active/passive regions (Aurora Global Database, Route 53, ECS)" \
      org.opencontainers.image.source="https://github.com/drctl/drctl" \
      org.opencontainers.image.documentation="https://github.com/drctl/drctl/blob/main/docs/deployment.md" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="drctl"

COPY --from=builder /out/drctl /usr/local/bin/drctl

# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 65532:65532
# A writable working directory is not needed: the store is dynamodb://TABLE in production
# (set DRCTL_STORE), and the root filesystem is mounted read-only (deploy/kubernetes).
WORKDIR /home/nonroot

# /metrics, /healthz and /readyz (drctl controller --metrics-addr).
EXPOSE 9090

ENTRYPOINT ["/usr/local/bin/drctl"]
CMD ["controller", "--metrics-addr", "0.0.0.0:9090", "--log-format", "json"]
