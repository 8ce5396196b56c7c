"""The decoding graph's description: grammar support and the vocabulary read from OpenFst headers."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from speech.graph import DamagedGraph, supports_grammar, vocabulary_size
from speech.models import ModelError, check_model

FST_MAGIC, SYMBOLS_MAGIC = 2125659606, 2125658996


def _string(text: bytes) -> bytes:
    return struct.pack("<i", len(text)) + text


def _symbols(words: list[str]) -> bytes:
    table = struct.pack("<i", SYMBOLS_MAGIC) + _string(b"words") + struct.pack("<qq", len(words), len(words))
    return table + b"".join(_string(word.encode()) + struct.pack("<q", key) for key, word in enumerate(words))


def fst(*, inputs: list[str] | None = None, outputs: list[str] | None = None) -> bytes:
    """An OpenFst binary header as Kaldi writes one, with optional input and output symbol tables."""
    flags = (1 if inputs is not None else 0) | (2 if outputs is not None else 0)
    header = struct.pack("<i", FST_MAGIC) + _string(b"const") + _string(b"standard") + struct.pack("<ii", 2, flags)
    header += b"\0" * 32  # properties, start, number of states, number of arcs
    return header + (_symbols(inputs) if inputs is not None else b"") + (_symbols(outputs) if outputs is not None else b"")


@pytest.fixture
def model(tmp_path: Path) -> Path:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mfcc.conf").write_text("--sample-frequency=16000\n")
    (tmp_path / "graph").mkdir()
    return tmp_path


def test_the_vocabulary_is_the_output_symbol_table_of_the_static_graph(model: Path) -> None:
    (model / "graph" / "HCLG.fst").write_bytes(fst(inputs=["<eps>", "a"], outputs=["<eps>", "xin", "chào"]))
    assert vocabulary_size(model) == 3
    assert not supports_grammar(model)


def test_a_grammar_model_counts_the_words_of_its_grammar_graph(model: Path) -> None:
    (model / "graph" / "HCLr.fst").write_bytes(fst())
    (model / "graph" / "Gr.fst").write_bytes(fst(outputs=["<eps>", "một", "hai", "ba"]))
    assert vocabulary_size(model) == 4
    assert supports_grammar(model)


def test_without_symbols_in_the_graph_words_txt_is_counted(model: Path) -> None:
    (model / "graph" / "HCLG.fst").write_bytes(fst())
    (model / "graph" / "words.txt").write_text("<eps> 0\nmột 1\n\nhai 2\n", encoding="utf-8")
    assert vocabulary_size(model) == 3
    (model / "graph" / "HCLG.fst").unlink()
    assert vocabulary_size(model) == 3


def test_no_graph_at_all_knows_no_words(model: Path) -> None:
    assert vocabulary_size(model) == 0 and not supports_grammar(model)


@pytest.mark.parametrize("cut", [3, 20, 60, 90])  # in the magic, a type, the counts, the size field
def test_a_truncated_graph_is_a_clear_model_error(model: Path, cut: int) -> None:
    (model / "graph" / "HCLG.fst").write_bytes(fst(outputs=["<eps>", "xin"])[:cut])
    with pytest.raises(DamagedGraph, match="HCLG.fst"):
        vocabulary_size(model)
    with pytest.raises(ModelError, match="HCLG.fst"):
        check_model(model, model=object())  # the Vosk model itself loaded; only its header is damaged


def test_a_damaged_symbol_table_is_a_clear_model_error(model: Path) -> None:
    damaged = fst(outputs=["<eps>"]).replace(struct.pack("<i", SYMBOLS_MAGIC), b"\0\0\0\0")
    (model / "graph" / "HCLG.fst").write_bytes(damaged)
    with pytest.raises(ModelError, match="damaged symbol table"):
        check_model(model, model=object())


def test_a_file_that_is_not_an_fst_has_no_symbols(model: Path) -> None:
    (model / "graph" / "HCLG.fst").write_bytes(b"\x01\x02\x03\x04 not an fst at all")
    (model / "graph" / "words.txt").write_text("a 0\nb 1\n")
    assert vocabulary_size(model) == 2
