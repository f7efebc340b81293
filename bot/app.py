"""Builds the bot from its configuration: one session, one store, the workflow, and Bolt on top.

Reading `Runtime.build` is reading the whole wiring; `start`/`close` own the background work.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)

from bot import slack
from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import AkSkAuth, AppConfig, Settings, Target
from bot.ecs import AkSkCredentials, EcsClient, Endpoints, PasswordCredentials, RetryPolicy
from bot.health import Health
from bot.http_server import HttpLimits, LimitedSite, serve
from bot.logs import library_logger
from bot.metrics import BACKGROUND_TASKS, REGISTRY
from bot.outbound import new_session, proxy_for, ssl_context
from bot.slack.client import WatchedWebClient
from bot.slack.context import SlackContext
from bot.slack.directory import SlackDirectory
from bot.slack.home_publisher import COALESCE_S, HomePublisher
from bot.slack.notifier import SlackNotifier
from bot.store import Store
from bot.workflow import (
    ExecutionSettings,
    Executor,
    Inventory,
    Policy,
    RequestLimits,
    Sweeper,
    SweepSettings,
    TaskKeeper,
    Workflow,
)

log = logging.getLogger(__name__)


def worker_id() -> str:
    """Names this process in the store's claims, so a replica knows whose execution it takes over."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def ecs_client(
    session: aiohttp.ClientSession,
    target: Target,
    *,
    concurrency: int,
    timeout_s: float,
    retry: RetryPolicy | None = None,
) -> EcsClient:
    credentials: AkSkCredentials | PasswordCredentials
    if isinstance(target.auth, AkSkAuth):
        credentials = AkSkCredentials(
            access_key=target.auth.access_key.get_secret_value(), secret_key=target.auth.secret_key
        )
    else:
        credentials = PasswordCredentials(
            user=target.auth.user.get_secret_value(), password=target.auth.password, domain=target.auth.domain
        )
    return EcsClient(
        session,
        Endpoints(ecs=target.ecs_endpoint, iam=target.iam_endpoint),
        target.project_id,
        credentials,
        max_concurrency=concurrency,
        timeout_s=timeout_s,
        retry=retry,
    )


def slack_web_client(
    session: aiohttp.ClientSession,
    token: str | None,
    settings: Settings,
    *,
    retry_handlers: list[AsyncRetryHandler] | None = None,
    readiness: Health | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> WatchedWebClient:
    """Slack's Web API client on the bot's one session, trusting what the session trusts.

    slack_sdk reads `HTTPS_PROXY` itself and passes it with every call, ignoring `NO_PROXY`; it is given
    the proxy `proxy_for` names for Slack's URL instead (None: direct), the rule the cloud's calls follow.
    A token Slack refuses is reported to `readiness` (the bot's `/healthz`); `clock` paces its probes of it.
    """
    client = WatchedWebClient(
        readiness=readiness,
        clock=clock,
        token=token,
        base_url=settings.slack_api_url,
        session=session,
        ssl=ssl_context(settings.ca_bundle),
        retry_handlers=retry_handlers or [],
        logger=library_logger("slack_sdk.web.async_client"),
    )
    client.proxy = proxy_for(settings.slack_api_url)
    return client


@dataclass
class Tuning:
    """Timings that tests and the demo shorten; production keeps the defaults."""

    sweep_interval_s: float = 15.0
    lease: timedelta = timedelta(seconds=60)
    job_poll_interval_s: float = 5.0
    drain_timeout_s: float = 6.0
    """Work in flight gets this long at SIGTERM (then at most 2 s to record being cut off): the whole stop
    fits in the 10 s that `docker stop` and Kubernetes give by default; what is cut off is recovered."""
    retry: RetryPolicy | None = None
    slack_retries: bool = True
    home_refresh_s: float | None = COALESCE_S
    """Changes within this long are one Home tab publish per person; None: only on `home.flush()`."""
    break_glass_announce_s: float = 5.0
    """How long a break-glass reset waits for its announcement (`ExecutionSettings.announce_wait_s`)."""


@dataclass
class Runtime:
    config: AppConfig
    session: aiohttp.ClientSession
    store: Store
    slack_client: WatchedWebClient
    app: AsyncApp
    workflow: Workflow
    sweeper: Sweeper
    tasks: TaskKeeper
    tuning: Tuning
    health: Health
    home: HomePublisher
    _loops: list[asyncio.Task[Any]] = field(default_factory=list)
    _warming: list[asyncio.Task[Any]] = field(default_factory=list)

    @classmethod
    async def build(
        cls, config: AppConfig, *, tuning: Tuning | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> Runtime:
        """The whole bot, every part reading time from one `clock`."""
        tuning = tuning or Tuning()
        settings = config.settings
        health = Health()
        store = await Store.open(
            settings.database_url,
            secret_keys=[k.get_secret_value() for k in settings.secret_keys],
            clock=clock,
        )
        session = new_session(settings.ca_bundle)
        targets: Mapping[str, Target] = {t.name: t for t in config.bot.targets}
        clients = {
            name: ecs_client(
                session,
                t,
                concurrency=settings.ecs_concurrency,
                timeout_s=settings.ecs_timeout.total_seconds(),
                retry=tuning.retry,
            )
            for name, t in targets.items()
        }
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        retry_handlers: list[AsyncRetryHandler] = (
            [
                AsyncConnectionErrorRetryHandler(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                AsyncServerErrorRetryHandler(max_retry_count=2),
            ]
            if tuning.slack_retries
            else []
        )
        slack_client = slack_web_client(
            session, token, settings, retry_handlers=retry_handlers, readiness=health, clock=clock
        )
        tasks = TaskKeeper()
        notifier = SlackNotifier(slack_client, store, audit_channel=settings.audit_channel, clock=clock)
        executor = Executor(
            store=store,
            targets=targets,
            clients=clients,
            notifier=notifier,
            settings=ExecutionSettings(
                worker_id=worker_id(),
                reveal_ttl=settings.reveal_ttl,
                lease=tuning.lease,
                job_poll_interval_s=tuning.job_poll_interval_s,
                announce_wait_s=tuning.break_glass_announce_s,
            ),
            clock=clock,
        )
        workflow = Workflow(
            store=store,
            targets=targets,
            clients=clients,
            inventory=Inventory(clients, clock=clock),
            policy=Policy(
                targets,
                SlackDirectory(slack_client, clock=clock),
                max_age_s=settings.membership_max_age.total_seconds(),
            ),
            notifier=notifier,
            tasks=tasks,
            executor=executor,
            clock=clock,
            limits=RequestLimits(settings.max_open_requests, settings.max_submissions_per_minute),
        )
        signing_secret = (
            settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        )
        app = AsyncApp(
            client=slack_client,
            signing_secret=signing_secret,
            process_before_response=True,
            request_verification_enabled=settings.mode == "http",
        )
        home = HomePublisher(workflow, slack_client, tasks, window_s=tuning.home_refresh_s, clock=clock)
        notifier.on_change = home.request_changed
        slack.register(
            app, SlackContext(workflow=workflow, notifier=notifier, tasks=tasks, home=home, clock=clock)
        )

        @app.error
        async def report(error: Exception, body: dict[str, Any], response: BoltResponse | None) -> None:
            kind = body.get("type") or body.get("command") or "request"
            log.error("listener for %s failed: %s", kind, error, exc_info=error)
            malformed = isinstance(error, LookupError | TypeError | ValueError | AttributeError)
            if response is not None and malformed:
                response.status = 400  # a body missing what Slack always sends: not our failure
                response.body = ""

        sweeper = Sweeper(workflow, executor, SweepSettings(interval_s=tuning.sweep_interval_s))
        return cls(config, session, store, slack_client, app, workflow, sweeper, tasks, tuning, health, home)

    async def start(self) -> None:
        """Groups pinned first (an unknown handle stops start-up with ConfigError naming it), then the
        schema, then `begin`. `run` takes these steps apart (bot/serve.py): the schema before it listens,
        the groups once Slack has accepted the bot token, so a refused token or an unreachable Slack is
        named as such rather than as a failed `usergroups.list`."""
        await self.workflow.policy.pin_groups()
        await self.store.migrate()
        await self.begin()

    async def begin(self) -> None:
        """Whatever a previous process left behind, and the periodic chores: after the schema and the
        groups, since a resumed break-glass tells the target's approvers, group members included."""
        await self.sweeper.recover(self.workflow.clock.now())
        self._loops.append(asyncio.create_task(self.sweeper.run_forever(), name="sweeper"))
        for name in self.workflow.targets:
            task = self.tasks.spawn(self._warm(name), name=f"warm-{name}")
            if task is not None:
                self._warming.append(task)

    async def warmed(self, timeout_s: float = 60.0) -> None:
        """Returns once every target's server list has loaded (or failed to), or after `timeout_s`."""
        if self._warming:
            await asyncio.wait(self._warming, timeout=timeout_s)

    async def _warm(self, target: str) -> None:
        try:
            await self.workflow.inventory.refresh(target)
        except Exception as exc:
            log.warning("could not load the server list of %s yet: %s", target, exc)

    async def close(self) -> None:
        """Finishes work in flight for a while; what is cut off is recovered by the next start."""
        # Loading server lists is only a cache: nothing to finish, and it may be waiting on a silent cloud.
        self.home.close()
        for loop in [*self._loops, *self._warming]:
            loop.cancel()
        await asyncio.gather(*self._loops, *self._warming, return_exceptions=True)
        await self.tasks.drain(self.tuning.drain_timeout_s)
        await self.store.close()
        await self.session.close()

    def web_app(self) -> web.Application:
        """Slack's endpoint, plus health and metrics unless BOT_METRICS_PORT gives them their own."""
        web_app = (
            self.app.web_app(path="/slack/events")
            if self.config.settings.mode == "http"
            else web.Application()
        )
        web_app.middlewares.append(_unreadable_is_400)
        if self.config.settings.metrics_port is None:
            self._add_health_and_metrics(web_app)
        return web_app

    def metrics_app(self) -> web.Application:
        """Health and metrics alone, for their own listener."""
        metrics_app = web.Application()
        self._add_health_and_metrics(metrics_app)
        return metrics_app

    def _add_health_and_metrics(self, web_app: web.Application) -> None:
        web_app.router.add_get("/healthz", self._healthz)
        web_app.router.add_get("/livez", self._livez)
        web_app.router.add_get("/metrics", self._metrics)

    async def listen(self, *, http_port: int | None = None, metrics_port: int | None = None) -> Listeners:
        """Starts the listeners the settings ask for, each with the read timeout and connection cap of
        BOT_HTTP_READ_TIMEOUT / BOT_HTTP_MAX_CONNECTIONS: Slack's (BOT_HTTP_HOST:BOT_HTTP_PORT) and, when
        BOT_METRICS_PORT is set, health and metrics on BOT_METRICS_HOST:BOT_METRICS_PORT. The ports
        given here replace the settings' (0: any free port, as tests ask)."""
        settings = self.config.settings
        limits = HttpLimits(settings.http_read_timeout.total_seconds(), settings.http_max_connections)
        port = settings.http_port if http_port is None else http_port
        listeners = Listeners([await serve(self.web_app(), settings.http_host, port, limits)])
        if settings.metrics_port is not None:
            host = settings.metrics_host or settings.http_host
            port = settings.metrics_port if metrics_port is None else metrics_port
            listeners.started.append(await serve(self.metrics_app(), host, port, limits))
        return listeners

    async def _healthz(self, _: web.Request) -> web.Response:
        """Readiness: 503 `{"ok": false, "problems": {component: reason}}` while anything reports a problem
        (Socket Mode down, a token Slack refuses, the database not answering within 2 s), else 200."""
        try:
            await asyncio.wait_for(self.store.ping(), 2.0)
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            self.health.report("database", f"the database does not answer ({reason})")
        else:
            self.health.clear("database")
        await self.slack_client.probe()  # a token Slack refused: asked again, so health recovers alone
        problems = self.health.problems()
        # Channels the bot cannot post in: detail for the operator (the bot still serves the others).
        channels = {k: v for k, v in self.slack_client.health.problems().items() if k != "token"}
        if problems:
            return web.json_response({"ok": False, "problems": problems, "slack": channels}, status=503)
        return web.json_response({"ok": True, "background_tasks": self.tasks.running, "slack": channels})

    async def _livez(self, _: web.Request) -> web.Response:
        """Liveness: the process answers; a restart would not fix Slack or the database, so no checks."""
        return web.json_response({"ok": True})

    async def _metrics(self, request: web.Request) -> web.Response:
        token = self.config.settings.metrics_token
        if token is not None:
            expected = f"Bearer {token.get_secret_value()}".encode()
            if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
                return web.Response(status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        BACKGROUND_TASKS.set(self.tasks.running)
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


@dataclass
class Listeners:
    """The HTTP listeners started by `Runtime.listen`: Slack's first, then health and metrics if apart."""

    started: list[tuple[web.AppRunner, LimitedSite]]

    @property
    def slack_port(self) -> int:
        return self.started[0][1].port

    @property
    def metrics_port(self) -> int | None:
        return self.started[1][1].port if len(self.started) > 1 else None

    async def close(self) -> None:
        for runner, _ in reversed(self.started):
            await runner.cleanup()


@web.middleware
async def _unreadable_is_400(request: web.Request, handler: Any) -> web.StreamResponse:
    """A signed body Bolt cannot parse (`payload=` that is not a JSON object) is a 400, not a 500."""
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException:
        raise
    except (ValueError, TypeError, LookupError, AttributeError) as exc:
        # The type only: the text could quote the body.
        log.warning("unreadable request to %s (%s); answered 400", request.path, type(exc).__name__)
        return web.json_response({"ok": False, "error": "unreadable request"}, status=400)
    return response
