"""Map tiles from a local MBTiles file, served by the app itself on the loopback interface.

Centers run on closed networks: a city's tiles come as one MBTiles file (SQLite), and the map
page asks this endpoint for them like any XYZ server. MBTiles stores rows in TMS order
(y counted from the south), XYZ counts from the north; the flip happens here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aiohttp import web

from .errors import ParseError

_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}


class MbTiles:
    """Read-only access to one MBTiles file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ParseError(str(path), "tile file not found")
        self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        try:
            self.metadata = dict(self._db.execute("SELECT name, value FROM metadata"))
            self._db.execute("SELECT 1 FROM tiles LIMIT 1")
        except sqlite3.DatabaseError as exc:
            raise ParseError(str(path), f"not an MBTiles file ({exc})") from None

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        if not (0 <= z <= 24 and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
            return None
        row = self._db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
            (z, x, (2 ** z - 1) - y),
        ).fetchone()
        return bytes(row[0]) if row else None

    def close(self) -> None:
        self._db.close()


def content_type(data: bytes) -> str:
    for magic, kind in _TYPES.items():
        if data.startswith(magic):
            return kind
    return "application/x-protobuf"  # vector tiles


class TileServer:
    """`GET /tiles/{z}/{x}/{y}` from an MbTiles, on 127.0.0.1 only."""

    def __init__(self, tiles: MbTiles) -> None:
        self.tiles = tiles
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.served = 0

    async def _tile(self, request: web.Request) -> web.Response:
        try:
            z, x = int(request.match_info["z"]), int(request.match_info["x"])
            y = int(request.match_info["y"].split(".")[0])
        except ValueError:
            raise web.HTTPBadRequest(text="bad tile address") from None
        data = self.tiles.tile(z, x, y)
        if data is None:
            raise web.HTTPNotFound()
        self.served += 1
        return web.Response(body=data, content_type=content_type(data),
                            headers={"Cache-Control": "max-age=86400"})

    async def start(self, port: int = 0) -> int:
        app = web.Application()
        app.router.add_get("/tiles/{z}/{x}/{y}", self._tile)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self.port

    @property
    def url_template(self) -> str:
        return f"http://127.0.0.1:{self.port}/tiles/{{z}}/{{x}}/{{y}}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
