"""Streaming a catalogue file: speed, peak memory, and identity with the in-memory path.

The files hold 13 absolute magnitudes, their errors and an integer id per galaxy
(27 columns, 216 bytes a row: 216 MB per million rows). ``SMASS_BENCH_1E7=1`` adds a
1e7-row file (2.2 GB per format) and the peak-memory check on it.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from astropy.table import Table

from astropy_smass import predict_table
from astropy_smass.stream import predict_file

from .common import magnitude_table, sizes

STREAM_SIZES = [n for n in sizes() if n >= 1_000_000]
FORMATS = ["parquet", "fits"]
CHUNK_ROWS = 250_000


def _catalogue(n, model, seed=4):
    table = magnitude_table(n, errors=True, model=model, seed=seed)
    table["id"] = np.arange(n)
    return table


@pytest.fixture(scope="module", params=[(n, f) for n in STREAM_SIZES for f in FORMATS],
                ids=lambda p: f"{p[0]:.0e}-{p[1]}")
def catalogue_file(request, tmp_path_factory, model):
    n, fmt = request.param
    path = tmp_path_factory.mktemp("stream") / f"catalogue_{n}.{fmt}"
    # Written in slices, so the generator needs no more memory than the benchmark.
    step = 1_000_000
    from astropy_smass.stream import _FitsWriter, _ParquetWriter

    writer_class = _ParquetWriter if fmt == "parquet" else _FitsWriter
    writer = None
    for start in range(0, n, step):
        part = Table(_catalogue(min(step, n - start), model, seed=start))
        part["id"] += start
        writer = writer or writer_class(path, part, n)
        writer.write(part)
    writer.close()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        assert pq.ParquetFile(path).metadata.num_rows == n
    yield n, fmt, path
    path.unlink()


def test_stream(benchmark, catalogue_file, model, tmp_path):
    n, fmt, path = catalogue_file
    out = tmp_path / f"out.{fmt}"
    benchmark.group = f"{n:.0e} rows"
    benchmark.extra_info.update(rows=n, kind=f"stream_{fmt}", chunk_rows=CHUNK_ROWS)
    summary = benchmark.pedantic(
        lambda: predict_file(path, out, chunk_rows=CHUNK_ROWS, model=model, overwrite=True,
                             progress=False, keep_columns=["id"]),
        rounds=1 if n > 1_000_000 else 3, iterations=1)
    assert summary["n_rows"] == n


_CHILD = textwrap.dedent("""
    import json, resource, sys, time
    from astropy_smass import load_model
    from astropy_smass.stream import predict_file
    import threadpoolctl
    model = load_model(sys.argv[3]) if sys.argv[3] != "-" else None
    if model is None:
        sys.path.insert(0, sys.argv[4])
        from benchmarks.common import benchmark_model
        model = benchmark_model()
    with threadpoolctl.threadpool_limits(1):
        start = time.perf_counter()
        predict_file(sys.argv[1], sys.argv[2], chunk_rows=int(sys.argv[5]), model=model,
                     overwrite=True, progress=False, keep_columns=["id"])
        seconds = time.perf_counter() - start
    # VmHWM: peak resident memory of this process's address space. (ru_maxrss would
    # carry over the high-water mark of the parent it was forked from.)
    try:
        with open("/proc/self/status") as status:
            hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    except OSError:  # not Linux
        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_mb": hwm / 1024, "seconds": seconds,
                      "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def test_stream_peak_memory(benchmark, catalogue_file, model, tmp_path):
    """Peak RSS of a whole streaming run in a fresh process, and identity of its output."""
    n, fmt, path = catalogue_file
    out = tmp_path / f"out.{fmt}"
    name = "-" if model.name.startswith("standin") else model.name
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def child():
        run = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(out), name, root,
                              str(CHUNK_ROWS)], capture_output=True, text=True, check=True)
        return json.loads(run.stdout.strip().splitlines()[-1])

    benchmark.group = f"{n:.0e} rows"
    result = benchmark.pedantic(child, rounds=1, iterations=1)
    benchmark.extra_info.update(rows=n, kind=f"stream_{fmt}_subprocess", **result)
    assert result["peak_rss_mb"] < 1024, result

    # The streamed predictions equal the in-memory ones on the whole table.
    streamed = Table.read(out)
    whole = predict_table(Table.read(path), model)
    for name in whole.colnames:
        expected = np.asarray(getattr(whole[name], "value", whole[name]))
        assert np.array_equal(np.asarray(streamed[name]), expected,
                              equal_nan=expected.dtype.kind == "f"), name
