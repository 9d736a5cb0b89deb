"""``omniroute simulate --scenario blending``: a voice spike against the real server, without and with a
``[[blending]]`` rule, and the service level of both channels side by side.

The center: voice agents (voice only), chat agents (two chats at once), and among the chat agents a
group ``flex`` whose skills admit them to the voice queue but who have no voice capacity of their own.
Voice arrives at a steady rate, then at ``spike`` times that rate for a while, then steadily again; chat
arrives steadily throughout. Run once without a rule, once with::

    [[blending]]
    channel = "voice"
    when = { ewt_over_seconds = 60 }
    for_seconds = 30
    agents = { group = "flex" }
    capacity = { voice = 1, chat = 0 }
    restore_after_seconds = 120

Each run uses a server of its own (a fresh routing domain), the same seed and so the same contacts and
handle times. Times are simulated seconds, compressed by ``speedup`` as in ``omniroute simulate``; the
rule's seconds are compressed by the same factor in the server's configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import statistics
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from router.tools.simulate import Api, Outcome, ServerHandle, SimAgent, Summary, launch_server

CHANNELS = ("voice", "chat")


@dataclass
class BlendScenario:
    voice_agents: int = 6
    chat_agents: int = 6
    flex_agents: int = 3
    """How many of the chat agents are in the group ``flex``."""
    chat_capacity: int = 2
    voice_aht: float = 180.0
    chat_aht: float = 300.0
    voice_load: float = 4.5
    """Steady voice traffic in Erlangs (arrival rate times AHT)."""
    spike: float = 1.8
    """Voice arrives this many times faster during the spike."""
    chat_load: float = 4.0
    before_minutes: float = 20.0
    spike_minutes: float = 30.0
    after_minutes: float = 40.0
    voice_sl_seconds: float = 20.0
    chat_sl_seconds: float = 60.0
    ewt_over_seconds: float = 60.0
    for_seconds: float = 30.0
    restore_after_seconds: float = 120.0
    speedup: float = 100.0
    seed: int = 1

    @property
    def spike_window(self) -> tuple[float, float]:
        start = self.before_minutes * 60
        return start, start + self.spike_minutes * 60

    @property
    def horizon(self) -> float:
        return (self.before_minutes + self.spike_minutes + self.after_minutes) * 60

    def arrivals(self) -> list[tuple[float, str]]:
        """Every contact of the run: (simulated arrival time, channel), in time order; the same for a
        seed whatever the run."""
        rng = random.Random(self.seed)
        out: list[tuple[float, str]] = []
        start, end = self.spike_window
        base = self.voice_load / self.voice_aht
        t = 0.0
        while True:  # thinning: a Poisson process whose rate steps up during the spike
            t += rng.expovariate(base * self.spike)
            if t >= self.horizon:
                break
            rate = base * self.spike if start <= t < end else base
            if rng.random() < rate / (base * self.spike):
                out.append((t, "voice"))
        t = 0.0
        while True:
            t += rng.expovariate(self.chat_load / self.chat_aht)
            if t >= self.horizon:
                break
            out.append((t, "chat"))
        return sorted(out)

    def config(self, *, with_rule: bool, namespace: str) -> str:
        """The server's configuration for one run (TOML), the rule's seconds compressed."""
        s = 1.0 / self.speedup
        lines = [
            "[routing]",
            f'namespace = "{namespace}"',
            "timer_interval_seconds = 0.02",
            f"blending_interval_seconds = {max(0.05, min(1.0, 5 * s)):.3f}",
            "",
            "[[queues]]",
            'id = "voice"',
            'channels = ["voice"]',
            "skills = { voice = 1 }",
            "offer_timeout_seconds = 600",
            "wrapup_seconds = 0",
            f"service_level_seconds = {self.voice_sl_seconds * s:.4f}",
            "",
            "[[queues]]",
            'id = "chat"',
            'channels = ["chat"]',
            "skills = { chat = 1 }",
            "offer_timeout_seconds = 600",
            "wrapup_seconds = 0",
            f"service_level_seconds = {self.chat_sl_seconds * s:.4f}",
        ]
        for agent_id, skills, capacity, groups in self.agents():
            lines += [
                "",
                "[[agents]]",
                f'id = "{agent_id}"',
                f'name = "{agent_id}"',
                "skills = { " + ", ".join(f"{k} = {v}" for k, v in skills.items()) + " }",
                "capacity = { " + ", ".join(f"{k} = {v}" for k, v in capacity.items()) + " }",
                f"groups = {json.dumps(groups)}",
            ]
        if with_rule:
            lines += [
                "",
                "[[blending]]",
                'id = "voice-spike"',
                'channel = "voice"',
                f"when = {{ ewt_over_seconds = {self.ewt_over_seconds * s:.4f} }}",
                f"for_seconds = {self.for_seconds * s:.4f}",
                'agents = { group = "flex" }',
                "capacity = { voice = 1, chat = 0 }",
                f"restore_after_seconds = {self.restore_after_seconds * s:.4f}",
            ]
        return "\n".join(lines) + "\n"

    def agents(self) -> list[tuple[str, dict[str, int], dict[str, int], list[str]]]:
        """(id, skills, capacity, groups) of every agent."""
        out: list[tuple[str, dict[str, int], dict[str, int], list[str]]] = []
        for k in range(self.voice_agents):
            out.append((f"voice-{k:02d}", {"voice": 5}, {"voice": 1, "chat": 0}, []))
        for k in range(self.chat_agents):
            flex = k < self.flex_agents
            skills = {"chat": 5, **({"voice": 3} if flex else {})}
            out.append(
                (f"chat-{k:02d}", skills, {"voice": 0, "chat": self.chat_capacity}, ["flex"] if flex else [])
            )
        return out


@dataclass
class BlendRun:
    with_rule: bool
    outcomes: dict[str, list[Outcome]]
    """Per channel, each contact as its customer saw it (simulated seconds)."""
    switches: list[tuple[str, float]] = field(default_factory=list)
    """Each ``blending`` frame that changed the rule's state: (started | ended, simulated time)."""
    failures: list[str] = field(default_factory=list)
    handled_by: dict[str, int] = field(default_factory=dict)
    """Voice contacts answered by the flex group and by the voice agents."""

    def summary(self, channel: str, sl_seconds: float, window: tuple[float, float] | None = None) -> Summary:
        items = self.outcomes[channel]
        if window is not None:
            items = [o for o in items if window[0] <= o.arrived < window[1]]
        return Summary.of(items, sl_seconds)


async def run_once(
    server: ServerHandle, sc: BlendScenario, *, with_rule: bool, progress: bool = False
) -> BlendRun:
    """Drive the scenario's contacts against ``server`` (configured by :meth:`BlendScenario.config`)."""
    loop = asyncio.get_running_loop()
    scale = 1.0 / sc.speedup
    rng = random.Random(sc.seed * 7 + 1)
    run_id = uuid.uuid4().hex[:10]
    contacts = sc.arrivals()
    # the handle time of each contact is drawn with the contact, so both runs see the same work
    handles = {
        n: rng.expovariate(1.0 / (sc.voice_aht if ch == "voice" else sc.chat_aht)) * scale
        for n, (_, ch) in enumerate(contacts)
    }
    posted: dict[str, tuple[int, float]] = {}  # interaction id -> (contact, posted at)
    offered: dict[str, tuple[float, str]] = {}  # interaction id -> (offer time, agent)
    run = BlendRun(with_rule, {ch: [] for ch in CHANNELS})

    def on_offer(agent: SimAgent, iid: str, now: float) -> None:
        offered.setdefault(iid, (now, agent.agent_id))

    def handle_for(agent: SimAgent) -> Callable[[], float]:
        def draw() -> float:
            # the contact's own handle time, found by the external id of the interaction offered
            external = str(agent.offer_interaction.get("external_id") or "")
            n = int(external.rsplit("-", 1)[1]) if external.startswith(run_id) else -1
            channel = agent.offer_interaction.get("channel")
            return handles.get(n, (sc.voice_aht if channel == "voice" else sc.chat_aht) * scale)

        return draw

    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=100)) as session:
        api = Api(session, server.url, server.admin_token)
        agents: list[SimAgent] = []
        for agent_id, *_ in sc.agents():
            token = await api.token("agent", agent_id)
            agent = SimAgent(agent_id, token, lambda: 0.0, on_offer=on_offer)
            agent.handle_time = handle_for(agent)
            agents.append(agent)
        await asyncio.gather(*(a.connect(session, server.url) for a in agents))
        board = await session.ws_connect(
            server.url.replace("http", "ws", 1) + f"/v1/supervisor/socket?token={server.admin_token}"
        )
        await asyncio.sleep(0.5)  # let every set_state land
        start = loop.time()
        watcher = asyncio.create_task(_watch_blending(board, run, start, sc.speedup, loop.time))
        pending: set[asyncio.Task[None]] = set()

        async def post(n: int, channel: str) -> None:
            body: dict[str, Any] = {"channel": channel, "external_id": f"{run_id}-{n}", "queue": channel}
            if channel == "voice":
                body["from"] = {"kind": "phone", "value": f"+1{int(run_id[:5], 16) % 10**5:05d}{n:05d}"}
            else:
                body["from"] = {"kind": "chat_visitor", "value": f"{run_id}-{n}"}
                body["content"] = "hello"
            at = loop.time()
            try:
                status, data = await api.call("POST", "/v1/interactions", body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                run.failures.append(f"#{n}: {exc!r}")
                return
            if status >= 300:
                run.failures.append(f"#{n}: ingest {status}: {data}")
                return
            posted[str(data["id"])] = (n, at)

        for n, (t, channel) in enumerate(contacts):
            delay = start + t * scale - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(post(n, channel))
            pending.add(task)
            task.add_done_callback(pending.discard)
            if progress:
                sys.stderr.write(f"\r{'with' if with_rule else 'without'} the rule: {n + 1}/{len(contacts)}")
        deadline = loop.time() + 60 + sc.horizon * scale
        while loop.time() < deadline:
            if not pending and all(i in offered for i in posted) and not any(a.busy for a in agents):
                break
            await asyncio.sleep(0.05)
        if progress:
            sys.stderr.write("\n")
        await asyncio.sleep(max(0.2, (sc.restore_after_seconds + sc.for_seconds) * scale * 2))
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await board.close()
        for a in agents:
            await a.close()
    flex = {a for a, _, _, groups in sc.agents() if "flex" in groups}
    run.handled_by = {"flex": 0, "voice agents": 0}
    for iid, (n, at) in posted.items():
        t, channel = contacts[n]
        got = offered.get(iid)
        if got is None:
            run.failures.append(f"#{n}: never offered")
            run.outcomes[channel].append(Outcome(t, None, True))
            continue
        when, agent_id = got
        run.outcomes[channel].append(Outcome(t, (when - at) * sc.speedup, True))
        if channel == "voice":
            run.handled_by["flex" if agent_id in flex else "voice agents"] += 1
    for ch in CHANNELS:
        run.outcomes[ch].sort(key=lambda o: o.arrived)
    return run


async def _watch_blending(
    board: aiohttp.ClientWebSocketResponse,
    run: BlendRun,
    start: float,
    speedup: float,
    clock: Callable[[], float],
) -> None:
    """Record when the rule comes into force and when it ends, from the wallboard's ``blending`` frames."""
    active = False
    async for msg in board:
        if msg.type != aiohttp.WSMsgType.TEXT:
            continue
        frame = json.loads(msg.data)
        if frame.get("type") != "blending" or not frame.get("rules"):
            continue
        now = bool(frame["rules"][0]["active"])
        if now != active:
            run.switches.append(("started" if now else "ended", (clock() - start) * speedup))
            active = now


# ---------------------------------------------------------------- comparison


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.1%}"


def _secs(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.0f} s"


def comparison(sc: BlendScenario, without: BlendRun, with_rule: BlendRun) -> dict[str, Any]:
    window = sc.spike_window
    spike_end = (window[0], window[1] + 15 * 60)
    out: dict[str, Any] = {"scenario": asdict(sc), "runs": {}}
    for name, run in (("without_rule", without), ("with_rule", with_rule)):
        figures: dict[str, Any] = {}
        for ch, sl in (("voice", sc.voice_sl_seconds), ("chat", sc.chat_sl_seconds)):
            whole, spike = run.summary(ch, sl), run.summary(ch, sl, spike_end)
            figures[ch] = {
                "contacts": whole.contacts,
                "service_level": whole.service_level,
                "asa": whole.asa,
                "spike_service_level": spike.service_level,
                "spike_asa": spike.asa,
                "max_wait": max((o.wait or 0.0 for o in run.outcomes[ch]), default=0.0),
            }
        figures["switches"] = run.switches
        figures["voice_answered_by"] = run.handled_by
        figures["failures"] = len(run.failures)
        out["runs"][name] = figures
    return out


def format_comparison(sc: BlendScenario, doc: dict[str, Any]) -> str:
    a, b = doc["runs"]["without_rule"], doc["runs"]["with_rule"]
    start, end = sc.spike_window
    lines = [
        f"voice spike: x{sc.spike:g} voice arrivals from minute {start / 60:g} to {end / 60:g} "
        f"({sc.voice_load:g} Erlangs before and after, {sc.voice_load * sc.spike:g} during); "
        f"chat {sc.chat_load:g} Erlangs throughout",
        f"agents: {sc.voice_agents} voice, {sc.chat_agents} chat ({sc.chat_capacity} chats each), "
        f"{sc.flex_agents} of them in the group flex; speedup x{sc.speedup:g}",
        "rule: voice, when ewt_over_seconds = "
        f"{sc.ewt_over_seconds:g}, for_seconds = {sc.for_seconds:g}, capacity = {{voice = 1, chat = 0}}, "
        f"restore_after_seconds = {sc.restore_after_seconds:g}",
        "",
        f"{'':<34}{'without rule':>14}{'with rule':>14}",
    ]
    rows = [
        (f"voice SL {sc.voice_sl_seconds:g} s, whole run", "voice", "service_level", _pct),
        (f"voice SL {sc.voice_sl_seconds:g} s, spike (+15 min)", "voice", "spike_service_level", _pct),
        ("voice ASA, spike (+15 min)", "voice", "spike_asa", _secs),
        ("voice longest wait", "voice", "max_wait", _secs),
        (f"chat SL {sc.chat_sl_seconds:g} s, whole run", "chat", "service_level", _pct),
        (f"chat SL {sc.chat_sl_seconds:g} s, spike (+15 min)", "chat", "spike_service_level", _pct),
        ("chat ASA, spike (+15 min)", "chat", "spike_asa", _secs),
    ]
    for label, ch, key, fmt in rows:
        lines.append(f"{label:<34}{fmt(a[ch][key]):>14}{fmt(b[ch][key]):>14}")
    lines.append(
        f"{'voice answered by flex / voice':<34}"
        f"{a['voice_answered_by']['flex']:>7} / {a['voice_answered_by']['voice agents']:<4}"
        f"{b['voice_answered_by']['flex']:>7} / {b['voice_answered_by']['voice agents']:<4}"
    )
    switches = ", ".join(f"{kind} at minute {t / 60:.1f}" for kind, t in b["switches"]) or "none"
    lines += ["", f"with the rule: {switches}"]
    if a["failures"] or b["failures"]:
        lines.append(f"failures: {a['failures']} without, {b['failures']} with the rule")
    return "\n".join(lines)


# ---------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The scenario's own options (``omniroute simulate --scenario blending``)."""
    g = parser.add_argument_group("blending scenario (--scenario blending)")
    g.add_argument("--spike", type=float, default=1.8, help="voice arrival rate in the spike, times normal")
    g.add_argument("--spike-minutes", type=float, default=30.0, help="how long the spike lasts (simulated)")
    g.add_argument("--flex-agents", type=int, default=3, help="chat agents in the group the rule switches")
    g.add_argument("--ewt-over-seconds", type=float, default=60.0, help="the rule's threshold (simulated)")
    g.add_argument(
        "--restore-after-seconds", type=float, default=120.0, help="the rule's hysteresis (simulated)"
    )


def scenario_from_args(args: argparse.Namespace) -> BlendScenario:
    return BlendScenario(
        spike=args.spike,
        spike_minutes=args.spike_minutes,
        flex_agents=args.flex_agents,
        ewt_over_seconds=args.ewt_over_seconds,
        restore_after_seconds=args.restore_after_seconds,
        speedup=args.speedup if args.speedup != 200.0 else 100.0,
        seed=args.seed,
    )


@contextlib.asynccontextmanager
async def child_server(config: str, log_level: str = "warning") -> AsyncIterator[ServerHandle]:
    """``omniroute serve`` in a process of its own with ``config`` (the run's load generator stays out of
    the server's event loop)."""
    path = Path(tempfile.mkdtemp(prefix="omniroute-blend-")) / "blend.toml"
    await asyncio.to_thread(path.write_text, config)
    async with launch_server(config=str(path), log_level=log_level) as server:
        yield server


async def compare_runs(
    sc: BlendScenario,
    start_server: Callable[[str], contextlib.AbstractAsyncContextManager[ServerHandle]],
    *,
    progress: bool = False,
    namespace_prefix: str = "blend",
) -> tuple[BlendRun, BlendRun]:
    """The scenario without and with the rule, each on a server of its own that ``start_server(config)``
    starts (and stops) for the configuration it is given, in a routing domain of its own whose namespace
    starts with ``namespace_prefix``."""
    runs = []
    for with_rule in (False, True):
        config = sc.config(with_rule=with_rule, namespace=f"{namespace_prefix}-{uuid.uuid4().hex[:10]}")
        async with start_server(config) as server:
            runs.append(await run_once(server, sc, with_rule=with_rule, progress=progress))
    return runs[0], runs[1]


async def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    if args.url:
        print("omniroute simulate --scenario blending starts its own servers (no --url)", file=sys.stderr)
        return 2
    sc = scenario_from_args(args)
    without, with_rule = await compare_runs(
        sc, lambda config: child_server(config, args.server_log_level), progress=sys.stderr.isatty()
    )
    doc = comparison(sc, without, with_rule)
    out.write(format_comparison(sc, doc) + "\n")
    if args.json_path:
        text = json.dumps(_finite(doc), indent=2)
        await asyncio.to_thread(Path(args.json_path).write_text, text)
    return 0 if not without.failures and not with_rule.failures else 1


def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    return x


def mean_wait(run: BlendRun, channel: str) -> float:
    waits = [o.wait for o in run.outcomes[channel] if o.wait is not None]
    return statistics.fmean(waits) if waits else math.nan
