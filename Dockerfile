# syntax=docker/dockerfile:1
# Multi-stage build: compile with the Rust toolchain, ship only the binary on a
# slim Debian base, run as an unprivileged user.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY benches ./benches
COPY examples ./examples
COPY tests ./tests
RUN cargo build --release --locked --bin ike_exporter \
    && strip target/release/ike_exporter

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/ike_exporter --create-home ike_exporter
COPY --from=build /src/target/release/ike_exporter /usr/local/bin/ike_exporter
COPY deploy/config.example.yaml /etc/ike_exporter/config.example.yaml
USER 10001
WORKDIR /var/lib/ike_exporter
# 9765: metrics; 5514/udp, 6514/tcp: syslog listeners of the example configs.
EXPOSE 9765 5514/udp 6514
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["/usr/local/bin/ike_exporter", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ike_exporter"]
CMD ["--config", "/etc/ike_exporter/config.yaml", "--state-dir", "/var/lib/ike_exporter"]
