"""The deployment zip: what it holds, that it is byte-for-byte reproducible, that it loads."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

# (tests.lambda cannot be imported: `lambda` is a keyword. Same paths as in conftest.py.)
REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTION_ROOT = REPO_ROOT / "lambda" / "trade_analysis"


def load_builder():
    """lambda/build_package.py by path: `lambda` cannot be imported as a package name."""
    spec = importlib.util.spec_from_file_location(
        "build_package", REPO_ROOT / "lambda" / "build_package.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def builder():
    return load_builder()


def test_zip_holds_the_function_modules_at_its_root(builder, tmp_path):
    path = builder.build_package(FUNCTION_ROOT, tmp_path / "fn.zip")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert "handler.py" in names
        assert names == sorted(p.name for p in FUNCTION_ROOT.glob("*.py"))
        assert {"trade_analyzer.py", "trade_s3.py", "trade_stats.py"} <= set(names)
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644
            assert archive.read(info) == (FUNCTION_ROOT / info.filename).read_bytes()


def test_zip_is_deterministic(builder, tmp_path):
    """Same sources, same bytes, whatever the files' times or the order the OS lists them."""
    zips = []
    for n, mtime in enumerate((1_000_000_000, 1_700_000_000)):
        copy = tmp_path / f"src{n}"
        copy.mkdir()
        names = sorted(p.name for p in FUNCTION_ROOT.glob("*.py"))
        for name in names if n == 0 else reversed(names):
            target = copy / name
            shutil.copyfile(FUNCTION_ROOT / name, target)
            os.utime(target, (mtime, mtime))
        zips.append(builder.build_package(copy, tmp_path / f"out{n}.zip").read_bytes())
    real = builder.build_package(FUNCTION_ROOT, tmp_path / "real.zip").read_bytes()
    assert zips[0] == zips[1] == real


def test_zip_ignores_caches_and_other_files(builder, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "handler.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"x")
    (source / "notes.txt").write_text("x")
    path = builder.build_package(source, tmp_path / "out.zip")
    assert zipfile.ZipFile(path).namelist() == ["handler.py"]


def test_no_handler_no_zip(builder, tmp_path):
    with pytest.raises(FileNotFoundError):
        builder.build_package(tmp_path, tmp_path / "out.zip")


def test_handler_loads_from_the_zip_like_the_runtime(builder, tmp_path):
    """A clean interpreter with only the zip on sys.path imports handler.lambda_handler."""
    path = builder.build_package(FUNCTION_ROOT, tmp_path / "fn.zip")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import handler; "
        "r = handler.lambda_handler({'date': 'nope'}, None); "
        "assert handler.__file__.startswith(sys.argv[1]), handler.__file__; print(r['statusCode'])"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "400"


def test_command_line_writes_build_zip(tmp_path):
    out = tmp_path / "cli.zip"
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "lambda" / "build_package.py"), "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout and "sha256=" in done.stdout
    assert zipfile.ZipFile(out).testzip() is None


def test_default_output_is_build_trade_analysis_zip(builder):
    assert builder.DEFAULT_OUTPUT == REPO_ROOT / "build" / "trade_analysis.zip"
