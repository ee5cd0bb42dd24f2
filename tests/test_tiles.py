"""The local tile endpoint: MBTiles rows in TMS order come out as XYZ tiles over HTTP."""

from __future__ import annotations

import sqlite3
import struct
import zlib

import aiohttp
import pytest

from opscenter.errors import ParseError
from opscenter.tiles import MbTiles, TileServer


def png(colour: int) -> bytes:
    """A 1x1 PNG of one grey level."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = zlib.compress(bytes([0, colour]))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def make_mbtiles(path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    db.execute("INSERT INTO metadata VALUES ('name', 'test city'), ('format', 'png')")
    # XYZ z=2 x=1 y=0 (north row) is TMS row 3
    db.execute("INSERT INTO tiles VALUES (2, 1, 3, ?)", (png(10),))
    db.execute("INSERT INTO tiles VALUES (2, 1, 0, ?)", (png(200),))
    db.commit()
    db.close()


def test_tms_rows_are_flipped_to_xyz(tmp_path) -> None:
    make_mbtiles(tmp_path / "city.mbtiles")
    tiles = MbTiles(tmp_path / "city.mbtiles")
    assert tiles.metadata["name"] == "test city"
    assert tiles.tile(2, 1, 0) == png(10)   # north
    assert tiles.tile(2, 1, 3) == png(200)  # south
    assert tiles.tile(2, 9, 0) is None and tiles.tile(30, 0, 0) is None


def test_not_an_mbtiles_file_is_refused(tmp_path) -> None:
    bad = tmp_path / "x.mbtiles"
    bad.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ParseError, match="not an MBTiles file"):
        MbTiles(bad)


@pytest.mark.asyncio
async def test_the_endpoint_serves_tiles_on_loopback(tmp_path) -> None:
    make_mbtiles(tmp_path / "city.mbtiles")
    server = TileServer(MbTiles(tmp_path / "city.mbtiles"))
    port = await server.start()
    try:
        assert server.url_template.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/tiles/2/1/0.png") as resp:
                assert resp.status == 200 and resp.content_type == "image/png"
                assert await resp.read() == png(10)
            async with session.get(f"http://127.0.0.1:{port}/tiles/2/2/2.png") as resp:
                assert resp.status == 404
            async with session.get(f"http://127.0.0.1:{port}/tiles/a/b/c") as resp:
                assert resp.status == 400
    finally:
        await server.stop()
