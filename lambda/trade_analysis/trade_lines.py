"""Turn a stream of byte chunks (an S3 body) into text lines, holding one chunk at a time.

Why not botocore's StreamingBody.iter_lines(): it runs a Python generator step and two
splitlines() calls per line (slower than the analysis itself), and splitlines() also breaks on
\\x0b, \\x1c, \\u2028 and friends, which are not line ends in CSV. Here each chunk is decoded and
split on "\\n" only, and the lines are handed over with itertools.chain, so the per-line cost is
C code. A trailing "\\r" (CRLF files) is left for the csv module, which treats it as the line end.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from itertools import chain

# 256 KiB: ~2,500 rows per chunk, so per-chunk costs vanish, while chunk, text and lines together
# stay around 1 MiB whatever the file's size.
CHUNK_SIZE = 1 << 18


def iter_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Yield the lines (without "\\n") of UTF-8 text split arbitrarily into byte chunks.

    A UTF-8 byte order mark is dropped; undecodable bytes become U+FFFD, which makes the row
    fail validation (reported as malformed) instead of failing the whole file.
    """
    return chain.from_iterable(_line_batches(chunks))


def _line_batches(chunks: Iterable[bytes]) -> Iterator[list[str]]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    tail = ""
    for chunk in chunks:
        text = decoder.decode(chunk)
        del chunk  # hold one chunk at a time, in its several forms
        if not text:
            continue
        lines = text.split("\n")
        del text
        lines[0] = tail + lines[0]
        tail = lines.pop()
        yield lines
        del lines  # chain has consumed it; drop it before the next chunk arrives
    tail += decoder.decode(b"", final=True)
    if tail:
        yield [tail]
