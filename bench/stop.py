"""Stop during start-up: SIGTERM -> process gone, for `python -m bot run` waiting on an unreachable Slack.

A container is often stopped before it is up (a failed rollout, a scaled-down replica), and `docker stop`
kills after 10 s. The bot child is `python -m bot run` with the demo targets on a simulator and a Slack
URL nobody listens on, so start-up is retrying `auth.test` when the signal arrives (the parent waits for
its "Slack is unreachable" line). Baseline in the same run: a bare interpreter that exits cleanly on
SIGTERM. With `--before PATH` (another checkout, e.g. a `git worktree` of an older commit) the same child
runs from that tree too, alternating, so a change shows its before/after from one run.

    .venv/bin/python bench/stop.py [--runs N] [--before PATH]
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))  # the test aids the benchmarks share (tests/support)

from support.processes import free_port  # noqa: E402

BARE = (
    "import signal, sys\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "print('ready', flush=True)\n"
    "signal.pause()\n"
)


def sample(command: list[str], cwd: Path, env: dict[str, str], ready: str) -> float:
    """Seconds from SIGTERM to the process's end, once `ready` appeared on its output."""
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    try:
        seen, deadline = b"", time.monotonic() + 60
        while ready.encode() not in seen:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(
                    f"{command[-1]!r} never printed {ready!r}:\n{seen.decode(errors='replace')}"
                )
            if select.select([proc.stdout], [], [], 0.5)[0]:
                seen += os.read(proc.stdout.fileno(), 65536)
        started = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        took = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"exit {proc.returncode} after SIGTERM")
        return took
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another checkout whose `python -m bot run` to time too")
    args = parser.parse_args()

    from common import header, median

    from bot.demo import demo_environment
    from bot.simulator import Simulator  # noqa: F401 - the child below serves it

    header(f"stop during start-up: SIGTERM -> exit, {args.runs} runs each, alternating")
    sim = subprocess.Popen(
        [sys.executable, str(HERE / "sim_child.py"), "--servers", "50", "--latency-ms", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        sim_url = sim.stdout.readline().strip()
        sim.stdout.readline()
        tmp = Path(tempfile.mkdtemp(prefix="ecs-bench-stop-"))
        closed = f"http://127.0.0.1:{free_port()}/api/"
        env = {**os.environ, **demo_environment(sim_url, closed, tmp), "BOT_LOG_LEVEL": "INFO"}
        env.pop("PYTHONPATH", None)
        trees = {"bot": HERE.parent, **({"bot before": args.before.resolve()} if args.before else {})}
        results: dict[str, list[float]] = {"bare": [], **{name: [] for name in trees}}
        for run in range(args.runs):
            results["bare"].append(sample([sys.executable, "-c", BARE], HERE, env, "ready"))
            for name, tree in trees.items():
                env["BOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp / f'{name}-{run}.sqlite3'}"
                env["BOT_HTTP_PORT"] = str(free_port())
                results[name].append(
                    sample([sys.executable, "-m", "bot", "run"], tree, env, "Slack is unreachable")
                )
        bare = median(results["bare"])
        for name, values in results.items():
            print(
                f"{name:<10} SIGTERM -> exit: median {median(values) * 1000:7.1f} ms  "
                f"min {min(values) * 1000:7.1f}  max {max(values) * 1000:7.1f} ms  "
                f"({median(values) / bare:5.1f}x the bare interpreter)",
                flush=True,
            )
    finally:
        if sim.stdin:
            sim.stdin.close()
        sim.terminate()
        sim.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
