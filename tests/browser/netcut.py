"""A loopback TCP relay between the browser and the server whose connections a test can cut.

``cut()`` resets every open connection (as a restarted load balancer does) and holds new ones
without answering until ``restore()``; the browser's reconnect attempts then wait in the handshake,
as they would on a dead network, instead of being refused. ``blackhole()`` is the quieter failure
(a laptop changing networks): open connections stay open but carry nothing any more.
"""

from __future__ import annotations

import asyncio
import contextlib


class NetCut:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.url = ""
        self._open = asyncio.Event()
        self._open.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._dead: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.base_events.Server | None = None
        self.held = 0  # connections waiting while cut

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        self.restore()
        if self._server is not None:
            self._server.close()
        for w in list(self._writers):
            w.transport.abort()
        for t in list(self._tasks):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await t
        if self._server is not None:
            await self._server.wait_closed()

    def cut(self) -> None:
        """Reset every connection now and hold new ones until restore()."""
        self._open.clear()
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    def blackhole(self) -> None:
        """Drop every byte of the open connections without closing them; hold new ones."""
        self._open.clear()
        self._dead.update(self._writers)

    def restore(self) -> None:
        self._open.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if not self._open.is_set():
                self.held += 1
                await self._open.wait()
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            self._writers.update((writer, up_writer))
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if writer in self._dead:
                    continue
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)
