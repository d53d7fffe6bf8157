# This server inside a sandbox, serving streamable HTTP on port 8765 so a
# swarm in other sandboxes can reach it. Built from source at a git ref.
ARG RUST_VERSION=1.88
ARG NT_REF=main
FROM rust:${RUST_VERSION}-slim-bookworm
RUN apt-get update && \
    apt-get install -y --no-install-recommends git ca-certificates curl pkg-config && \
    rm -rf /var/lib/apt/lists/*
RUN git clone --depth 1 --branch ${NT_REF} https://github.com/neural-trader/neural-trader-mcp /opt/nt && \
    cargo install --locked --path /opt/nt/servers --root /usr/local && \
    rm -rf /opt/nt /usr/local/cargo/registry
ENV RUST_LOG=info
EXPOSE 8765
WORKDIR /home/user
