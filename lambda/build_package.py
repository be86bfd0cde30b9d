"""Build the Lambda deployment zip: build/trade_analysis.zip from lambda/trade_analysis/*.py.

Deterministic (same sources, same bytes): entries sorted, fixed timestamps and permissions, fixed
compression level. So the zip's hash changes only when the code does, and a deploy of unchanged
code is a no-op. The handler's modules sit at the zip root, which is what the runtime puts on
sys.path (handler "handler.lambda_handler"). Only the standard library is used.

    python lambda/build_package.py [--output PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent / "trade_analysis"
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "build" / "trade_analysis.zip"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
FILE_MODE = 0o100644  # regular file, rw-r--r--


def package_files(source_dir: Path = SOURCE_DIR) -> list[Path]:
    """The files that go into the zip: the function's Python modules, nothing else."""
    return sorted(p for p in source_dir.glob("*.py") if p.is_file())


def build_package(source_dir: Path = SOURCE_DIR, output: Path = DEFAULT_OUTPUT) -> Path:
    """Write the zip (replacing any old one) and return its path."""
    files = package_files(source_dir)
    if not any(p.name == "handler.py" for p in files):
        raise FileNotFoundError(f"no handler.py in {source_dir}")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".tmp")
    with zipfile.ZipFile(partial, "w") as archive:
        for path in files:
            info = zipfile.ZipInfo(path.name, date_time=FIXED_TIME)
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever machine builds it
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    partial.replace(output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    path = build_package(SOURCE_DIR, args.output)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"{path} {path.stat().st_size} bytes sha256={digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
