"""What a Vosk model's decoding graph offers: a runtime grammar or not, and how many words it knows.

The vocabulary is counted from the output symbol table in the OpenFst binary's header (HCLG.fst, or
Gr.fst for grammar-capable models), so a 100,000-word graph is described without loading it.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import IO


class DamagedGraph(ValueError):
    """A graph file whose header cannot be read."""


def supports_grammar(path: Path) -> bool:
    """Vosk loads graph/HCLG.fst when present (static graph); only HCLr.fst + Gr.fst take a runtime grammar."""
    graph = path / "graph"
    return not (graph / "HCLG.fst").is_file() and (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()


def vocabulary_size(path: Path) -> int:
    """Entries of the word table Vosk uses: HCLG.fst's or Gr.fst's output symbols, else graph/words.txt."""
    graph = path / "graph"
    fst = graph / "HCLG.fst" if (graph / "HCLG.fst").is_file() else graph / "Gr.fst"
    count = _fst_output_symbols(fst) if fst.is_file() else None
    if count is not None:
        return count
    words = graph / "words.txt"
    if not words.is_file():
        return 0
    with words.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


# -- OpenFst headers --------------------------------------------------------------------------

_FST_MAGIC, _SYMBOLS_MAGIC = 2125659606, 2125658996
_HAS_ISYMBOLS, _HAS_OSYMBOLS = 1, 2


def _fst_output_symbols(fst: Path) -> int | None:
    """Entries of the output symbol table embedded in an OpenFst binary, or None when it has none."""
    with fst.open("rb") as handle:
        if _read(handle, "<i") != _FST_MAGIC:
            return None
        _read_string(handle), _read_string(handle)  # fst type, arc type
        _version, flags = _read(handle, "<i"), _read(handle, "<i")
        handle.seek(8 * 4, os.SEEK_CUR)  # properties, start, number of states, number of arcs
        if flags & _HAS_ISYMBOLS:
            _skip_symbols(handle)
        return _symbols_size(handle) if flags & _HAS_OSYMBOLS else None


def _symbols_size(handle: IO[bytes]) -> int:
    if _read(handle, "<i") != _SYMBOLS_MAGIC:
        raise DamagedGraph(f"{handle.name}: damaged symbol table")
    _read_string(handle)
    _read(handle, "<q")  # available key
    return _read(handle, "<q")


def _skip_symbols(handle: IO[bytes]) -> None:
    for _ in range(_symbols_size(handle)):
        handle.seek(_read(handle, "<i") + 8, os.SEEK_CUR)  # symbol text, then its 64-bit key


def _read(handle: IO[bytes], fmt: str) -> int:
    size = struct.calcsize(fmt)
    raw = handle.read(size)
    if len(raw) != size:
        raise DamagedGraph(f"{handle.name}: truncated FST header")
    return int(struct.unpack(fmt, raw)[0])


def _read_string(handle: IO[bytes]) -> bytes:
    return handle.read(_read(handle, "<i"))
