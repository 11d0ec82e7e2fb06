"""Uploaded files checked before any reader opens them: what they unpack to is capped.

The mesh readers (``solver.formats``) gunzip a file by its magic number and read it whole, so a
small gzip of zeros could unpack to gigabytes in the server's memory. :func:`check_unpacked_size`
streams the upload through the decompressor, a megabyte at a time, and refuses it past
``COASTCAST_MAX_UNPACKED_MB``; a NetCDF (HDF5) mesh is refused when one of its variables, which
may be compressed on disk, holds more than that. Station CSVs are never decompressed: they are
read as text, at most 2 MB (``webapp.wizard.stations``).
"""

from __future__ import annotations

import gzip
import logging
import zlib
from pathlib import Path

log = logging.getLogger(__name__)

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"


class UploadError(ValueError):
    """An upload refused before reading; the message is one line naming the file."""


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB"


def check_unpacked_size(path: Path, limit: int, name: str | None = None) -> None:
    """Raise :class:`UploadError` when the file at ``path`` unpacks to more than ``limit`` bytes
    (gzip: its decompressed stream, every member; NetCDF: its largest variable). ``name``: the
    file's name in messages (default ``path.name``). Memory used: about one :data:`CHUNK`."""
    path = Path(path)
    name = name or path.name
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head[:2] == GZIP_MAGIC:
        total = 0
        try:
            with gzip.open(path, "rb") as gz:
                while chunk := gz.read(CHUNK):
                    total += len(chunk)
                    if total > limit:
                        log.warning("upload %s refused: more than %d bytes when decompressed", path, limit)
                        raise UploadError(
                            f"{name}: more than {_mb(limit)} when decompressed; this server accepts "
                            f"at most {_mb(limit)} (COASTCAST_MAX_UNPACKED_MB)"
                        )
        except (OSError, EOFError, zlib.error):
            raise UploadError(f"{name}: the gzip stream is truncated or corrupt") from None
    elif head[:3] == b"CDF" or head[:4] == b"\x89HDF":
        var, size = _largest_netcdf_variable(path)
        if size > limit:
            log.warning("upload %s refused: variable %s holds %d bytes", path, var, size)
            raise UploadError(
                f"{name}: variable {var} holds {_mb(size)} when decompressed; this server accepts "
                f"at most {_mb(limit)} (COASTCAST_MAX_UNPACKED_MB)"
            )


def _largest_netcdf_variable(path: Path) -> tuple[str, int]:
    """(name, bytes) of the largest variable of a NetCDF file, from its header only."""
    try:
        import netCDF4
    except ImportError:  # the reader cannot open it either
        return "", 0
    best = ("", 0)
    try:
        with netCDF4.Dataset(path) as ds:
            for group in _groups(ds):
                for v in group.variables.values():
                    itemsize = getattr(v.dtype, "itemsize", 8) or 8  # vlen strings: counted as pointers
                    size = int(v.size) * int(itemsize)
                    if size > best[1]:
                        best = (v.name, size)
    except OSError:  # not readable as NetCDF: the mesh reader says so in its own words
        return "", 0
    return best


def _groups(ds):
    yield ds
    for child in ds.groups.values():
        yield from _groups(child)
