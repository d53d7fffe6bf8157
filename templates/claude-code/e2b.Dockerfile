# Claude Code (the CLI agent) on Node.js, for coding tasks in isolation.
ARG NODE_MAJOR=20
ARG CLAUDE_CODE_VERSION=latest
FROM node:${NODE_MAJOR}-bookworm-slim
RUN apt-get update && \
    apt-get install -y --no-install-recommends git ca-certificates curl python3 ripgrep && \
    rm -rf /var/lib/apt/lists/*
RUN npm install -g @anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}
ENV CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
WORKDIR /home/user
