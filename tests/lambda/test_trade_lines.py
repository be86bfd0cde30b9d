"""Byte chunks to lines: any chunk boundary, multi-byte characters, CRLF, BOM, bad bytes."""

from __future__ import annotations

import pytest
from trade_lines import iter_lines

TEXT = "trade_id,ticker\n1,AAPL\n2,SOCIÉTÉ\n3,€uro\n\n4,last"


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 10_000])
def test_lines_survive_every_chunk_size(size):
    assert list(iter_lines(split_every(TEXT.encode(), size))) == TEXT.split("\n")


def test_every_single_split_point():
    data = TEXT.encode()
    for cut in range(len(data) + 1):
        assert list(iter_lines([data[:cut], data[cut:]])) == TEXT.split("\n"), cut


def test_trailing_newline_gives_no_empty_last_line():
    assert list(iter_lines([b"a\nb\n"])) == ["a", "b"]


def test_crlf_keeps_the_cr_for_the_csv_module():
    assert list(iter_lines([b"a,b\r\nc,d\r\n"])) == ["a,b\r", "c,d\r"]


def test_bom_is_dropped_even_when_split():
    data = "\ufeffh\n1".encode()
    assert list(iter_lines([data[:1], data[1:2], data[2:]])) == ["h", "1"]


def test_undecodable_bytes_become_replacement_characters():
    assert list(iter_lines([b"ok\nA\xffB\n"])) == ["ok", "A\ufffdB"]


def test_empty_stream():
    assert list(iter_lines([])) == []
    assert list(iter_lines([b""])) == []


def test_only_newline_splits_lines():
    # str.splitlines() would also split at \x1c and \u2028; in CSV they are data.
    assert list(iter_lines(["a\x1cb\u2028c\nd".encode()])) == ["a\x1cb\u2028c", "d"]


def test_chunks_are_pulled_lazily():
    pulled = []

    def chunks():
        for n in range(3):
            pulled.append(n)
            yield f"line{n}\n".encode()

    lines = iter_lines(chunks())
    assert next(lines) == "line0"
    assert pulled == [0]
