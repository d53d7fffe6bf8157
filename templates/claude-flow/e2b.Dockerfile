# Claude Flow swarm workers (claude-flow on Node.js) with Claude Code beside them.
ARG NODE_MAJOR=20
ARG CLAUDE_FLOW_VERSION=alpha
FROM node:${NODE_MAJOR}-bookworm-slim
RUN apt-get update && \
    apt-get install -y --no-install-recommends git ca-certificates curl python3 && \
    rm -rf /var/lib/apt/lists/*
RUN npm install -g @anthropic-ai/claude-code claude-flow@${CLAUDE_FLOW_VERSION}
WORKDIR /home/user/swarm
