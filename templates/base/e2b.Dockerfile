# A small Debian image with Python and the usual tools.
ARG DEBIAN_TAG=bookworm-slim
FROM debian:${DEBIAN_TAG}
RUN apt-get update && \
    apt-get install -y --no-install-recommends python3 python3-pip ca-certificates curl git jq && \
    rm -rf /var/lib/apt/lists/*
WORKDIR /home/user
