"""A real Redis Cluster for the tests: three masters (and, if asked, a replica of each) started from the Redis
or Valkey server binary in cluster mode on free loopback ports under a directory of the test's own, the
slots split in three (``CLUSTER ADDSLOTSRANGE``), joined with ``CLUSTER MEET`` (replicas with ``CLUSTER
REPLICATE``) and ready once every node says ``cluster_state:ok``. Nothing is kept on disk; :meth:`stop`
ends the servers it started, no others."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.cluster import key_slot

from router.embedded import redis_binary
from tests.support.ports import free_port

SLOTS = 16384


@dataclass(frozen=True)
class Master:
    port: int
    bus_port: int
    first_slot: int
    last_slot: int

    def owns(self, slot: int) -> bool:
        return self.first_slot <= slot <= self.last_slot


class RedisClusterServers:
    def __init__(self, directory: Path, masters: int = 3, *, replicas: bool = False) -> None:
        """``replicas``: a replica for each master, so that a master's failure is a failover."""
        self.dir = directory
        self.count = masters
        self.with_replicas = replicas
        self.masters: list[Master] = []
        self.replicas: dict[int, int] = {}
        """master port -> its replica's port"""
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """What ``REDIS_URL`` is set to: one node is enough, the client discovers the others."""
        return f"redis+cluster://127.0.0.1:{self.masters[0].port}"

    def _spawn(self, binary: str) -> tuple[int, int]:
        port, bus_port = free_port(), free_port()
        node_dir = self.dir / f"node-{port}"
        node_dir.mkdir(parents=True, exist_ok=True)
        # fmt: off
        self._procs[port] = subprocess.Popen(
            [
                binary, "--port", str(port), "--bind", "127.0.0.1",
                # the bus port by default is port + 10000, past 65535 for a high free port
                "--cluster-port", str(bus_port),
                "--cluster-enabled", "yes", "--cluster-config-file", str(node_dir / "nodes.conf"),
                "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no",
                "--dir", str(node_dir), "--logfile", str(node_dir / "server.log"),
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        # fmt: on
        return port, bus_port

    def start(self) -> str:
        binary = redis_binary()
        share = SLOTS // self.count
        for n in range(self.count):
            port, bus_port = self._spawn(binary)
            first, last = n * share, (SLOTS - 1 if n == self.count - 1 else (n + 1) * share - 1)
            self.masters.append(Master(port, bus_port, first, last))
        spare = [self._spawn(binary) for _ in self.masters] if self.with_replicas else []
        try:
            clients = [self._answering(m.port) for m in self.masters]
            for client, m in zip(clients, self.masters, strict=True):
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", m.first_slot, m.last_slot)
            for port, bus_port in [(m.port, m.bus_port) for m in self.masters[1:]] + spare:
                clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port, bus_port)
            replica_clients = [self._answering(port) for port, _ in spare]
            self._wait_ok(clients + replica_clients)
            for client, master, master_client in zip(replica_clients, self.masters, clients, strict=False):
                client.execute_command(
                    "CLUSTER", "REPLICATE", master_client.execute_command("CLUSTER", "MYID")
                )
                self.replicas[master.port] = int(client.connection_pool.connection_kwargs["port"])
            self._wait_replicating(replica_clients)
            for c in clients + replica_clients:
                c.close()
        except BaseException:
            self.stop()
            raise
        return self.url

    def _answering(self, port: int) -> redis.Redis:
        deadline = time.monotonic() + 15
        client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=5)
        while True:
            try:
                client.ping()
                return client
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in self._procs.values()):
                    raise RuntimeError(f"cluster node on port {port} did not start: see {self.dir}") from None
                time.sleep(0.05)

    def _wait_ok(self, clients: list[redis.Redis]) -> None:
        """Every node knows every other and every slot is served (gossip takes a second or two)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            infos = [str(c.execute_command("CLUSTER", "INFO")) for c in clients]
            known = f"cluster_known_nodes:{len(clients)}"
            if all("cluster_state:ok" in i and known in i for i in infos):
                return
            time.sleep(0.1)
        raise RuntimeError("the cluster did not reach cluster_state:ok within 30 s")

    def _wait_replicating(self, replicas: list[redis.Redis]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(r.info("replication").get("master_link_status") == "up" for r in replicas):
                return
            time.sleep(0.1)
        raise RuntimeError("the replicas did not catch up with their masters within 30 s")

    def fail_master(self, master: Master) -> Master:
        """Kill a master outright (SIGKILL) and wait until its replica has taken over its slots and the
        cluster is whole again; returns the new master."""
        replica_port = self.replicas.pop(master.port)
        proc = self._procs.pop(master.port)
        proc.kill()
        proc.wait(5)
        replica = redis.Redis(host="127.0.0.1", port=replica_port, decode_responses=True, socket_timeout=5)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if replica.info("replication").get("role") == "master" and "cluster_state:ok" in str(
                    replica.execute_command("CLUSTER", "INFO")
                ):
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"the replica on port {replica_port} did not take over within 30 s")
        finally:
            replica.close()
        promoted = Master(replica_port, 0, master.first_slot, master.last_slot)
        self.masters[self.masters.index(master)] = promoted
        return promoted

    def master_of(self, namespace: str) -> Master:
        """The master that holds a routing domain's keys (its hash tag ``{namespace}``)."""
        slot = key_slot(("{" + namespace + "}").encode())
        return next(m for m in self.masters if m.owns(slot))

    def namespaces_one_per_master(self, base: str) -> list[str]:
        """A routing domain on each master: ``<base>-<k>`` for the first ``k`` whose slot lands on a master
        not taken yet."""
        found: dict[int, str] = {}
        k = 0
        while len(found) < self.count:
            name = f"{base}-{k}"
            found.setdefault(self.master_of(name).port, name)
            k += 1
        return [found[m.port] for m in self.masters]

    def stop(self) -> None:
        procs = list(self._procs.values())
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self._procs = {}
