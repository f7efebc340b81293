# ecs-reset-bot image: the bot in a virtualenv on a small, pinned Python base, running as a non-root user.
# Dependencies come from requirements.lock (pinned, with hashes; made by pip-compile, see README).
# Pin the base further by digest for releases: --build-arg PYTHON_IMAGE=python:3.11.9-slim-bookworm@sha256:…
# Without a registry, scripts/build-image.sh builds a Debian bookworm base with debootstrap and passes it here.
ARG PYTHON_IMAGE=python:3.11.9-slim-bookworm

# --- builder: the locked dependencies and the project's wheel, installed into /opt/venv -------------------
FROM ${PYTHON_IMAGE} AS builder
# A CA bundle for pip, where the build reaches PyPI through an inspecting proxy (scripts/build-image.sh).
ARG PIP_CERT=
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
WORKDIR /src
# The lock first: changing the bot's code does not reinstall its dependencies.
COPY requirements.lock ./
RUN /opt/venv/bin/pip install ${PIP_CERT:+--cert "$PIP_CERT"} --require-hashes --only-binary :all: --no-deps \
      -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
# The project itself without dependencies (all locked above); then pip and setuptools leave the venv.
RUN /opt/venv/bin/pip wheel ${PIP_CERT:+--cert "$PIP_CERT"} --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install --no-deps --no-index /wheels/*.whl \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/python -m pip uninstall --yes pip setuptools \
 && /opt/venv/bin/python -c "import bot.__main__"

# --- runtime: the venv only; no compiler, no pip, no sources ------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# BOT_MODE is left to the bot: Socket Mode when SLACK_APP_TOKEN is set, HTTP otherwise (README).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
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
# The SQLite database lives here; mount a volume writable by uid 10001 to keep it across restarts.
VOLUME ["/data"]
# Slack requests (HTTP mode) on /slack/events, readiness on /healthz, liveness on /livez, metrics on /metrics.
EXPOSE 3000
# SIGTERM stops the bot within 10 s (work in flight gets 6 s; what is cut off is recovered by the next start),
# inside the default grace of `docker stop` and Kubernetes.
STOPSIGNAL SIGTERM
# Asks /healthz where the bot listens (BOT_HTTP_HOST, BOT_HTTP_PORT; a wildcard host means loopback).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-m", "bot.healthcheck"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
