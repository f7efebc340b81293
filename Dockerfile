# syntax=docker/dockerfile:1
# ecs-reset-bot image: the bot in a virtualenv on a small, pinned Python base, running as a non-root user.
# Pin the base further by digest for releases: --build-arg PYTHON_IMAGE=python:3.11.9-slim-bookworm@sha256:…
ARG PYTHON_IMAGE=python:3.11.9-slim-bookworm

# --- builder: build the project's wheel and install it with its dependencies into /opt/venv -------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Only what the wheel needs: changes to tests or docs do not invalidate this layer.
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && pip install /wheels/*.whl \
 && python -c "import bot"

# --- runtime: the venv only; no compiler, no pip cache, no sources ----------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BOT_MODE=socket \
    BOT_HTTP_PORT=3000 \
    BOT_DATABASE_URL=sqlite+aiosqlite:////data/ecs-reset-bot.sqlite3
RUN groupadd --system --gid 10001 bot \
 && useradd --system --uid 10001 --gid bot --home-dir /data --no-create-home --shell /usr/sbin/nologin bot \
 && mkdir -p /data \
 && chown bot:bot /data
COPY --from=builder /opt/venv /opt/venv
# An empty working directory, so `python -m bot` can only import the installed package.
WORKDIR /app
USER bot:bot
# The SQLite database (and anything else the bot keeps) lives here; mount a volume to survive restarts.
VOLUME ["/data"]
# Slack requests (HTTP mode) on /slack/events, health on /healthz, metrics on /metrics.
EXPOSE 3000
# slim has no curl: ask Python. The shell expands BOT_HTTP_PORT at check time.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${BOT_HTTP_PORT:-3000}/healthz', timeout=4)" || exit 1
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
