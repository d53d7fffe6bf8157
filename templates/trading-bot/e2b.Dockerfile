# A Python trading-bot sandbox: numeric stack for backtests and strategy workers.
ARG PYTHON_VERSION=3.12
FROM python:${PYTHON_VERSION}-slim
RUN pip install --no-cache-dir numpy pandas
ENV PYTHONUNBUFFERED=1
WORKDIR /home/user/bot
