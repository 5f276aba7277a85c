"""File to file at survey scale: the command line and Dask against the pyarrow I/O floor.

The catalogue is the streaming benchmark's (13 absolute magnitudes, 13 errors and an
id: 27 columns, 216 bytes a row), once as one Parquet file and once as a folder of 20
files. Every path is timed against the **floor** measured in the same run on the same
files: pyarrow reading the file in record batches of 250,000 rows and writing the
same columns plus four numeric ones (the size of the predictions) with the writer
options the package uses. Times are wall-clock on the whole machine (the CLI and the
Dask workers may use every core; the floor's reader uses pyarrow's threads).

- ``files_floor_one`` / ``files_cli_one``: one file; the CLI is a fresh
  ``astropy-smass predict IN OUT`` process, start-up included.
- ``files_floor_folder`` / ``files_cli_folder``: the folder of 20 files, in one CLI
  run (``astropy-smass predict FOLDER OUT``).
- ``files_dask_1`` / ``files_dask_2``: `astropy_smass.dask.write_parquet` of
  `~astropy_smass.dask.predict_dask` over the folder (``read_parquet``, one partition
  per file), on a running ``LocalCluster`` of 1 or 2 single-threaded worker processes;
  peak RSS per worker. Not timed (the compute-and-write part): the cluster's start-up
  and a warm-up, in which the workers predict and write one of the files first, as the
  workers of a running cluster have (imports and first-call set-up: a fresh worker
  took 3.5 to 6 s for its first file, against about 1.3 s for each later one; the
  warm-up's time is recorded as ``warm_up_file_seconds``).

``SMASS_BENCH_FILE_ROWS`` sets the catalogue's rows (default 2,000,000; the scaling
page's figures use 20,000,000: 4.3 GB a copy), ``SMASS_BENCH_FILE_ROUNDS`` the rounds
(default 1; the disk's write-back makes single runs of gigabytes vary by a factor of
two), ``SMASS_BENCH_OUTPUT_DIR`` where the outputs go (default pytest's temporary
folder, beside the inputs). Each round runs every path once, in turn, so that a drift
of the disk's speed reaches every path alike; the fastest run of each path counts. ``python
benchmarks/report.py benchmarks/results.json --files`` prints the ratios.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from .common import magnitude_table

ROWS = int(float(os.environ.get("SMASS_BENCH_FILE_ROWS", "2e6")))
ROUNDS = int(os.environ.get("SMASS_BENCH_FILE_ROUNDS", "1"))
N_FILES = 20
BATCH = 250_000
FLOORS = {}

pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")


def _slices(n, model, step=1_000_000, start=0):
    for first in range(0, n, step):
        part = Table(magnitude_table(min(step, n - first), errors=True, model=model,
                                     seed=start + first))
        part["id"] = np.arange(start + first, start + first + len(part))
        yield part


def _write(path, n, model, start=0):
    from astropy_smass.stream import _ParquetWriter

    writer = None
    for part in _slices(n, model, start=start):
        writer = writer or _ParquetWriter(path, part, n)
        writer.write(part)
    writer.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory, model):
    root = tmp_path_factory.mktemp("files")
    one = root / "survey.parquet"
    _write(one, ROWS, model)
    folder = root / "survey"
    folder.mkdir()
    per_file = ROWS // N_FILES
    for k in range(N_FILES):
        _write(folder / f"part{k:02d}.parquet", per_file, model, start=k * per_file)
    bundle = model.save(root / "model")
    yield {"one": one, "folder": folder, "bundle": bundle, "root": root,
           "folder_rows": per_file * N_FILES}


@pytest.fixture
def out_dir(tmp_path):
    """Where a test writes, emptied when it ends (gigabytes at survey scale): its
    ``tmp_path``, or a new folder in ``SMASS_BENCH_OUTPUT_DIR`` (a RAM disk, say, to
    see how the paths scale with the disk out of the way)."""
    root = os.environ.get("SMASS_BENCH_OUTPUT_DIR")
    out = Path(tempfile.mkdtemp(dir=root)) if root else tmp_path
    yield out
    shutil.rmtree(out, ignore_errors=True)


def floor(source, target):
    """pyarrow: read in record batches, write the same columns and four more."""
    from astropy_smass.stream import parquet_write_options

    reader = pq.ParquetFile(source, pre_buffer=False)
    writer = None
    for batch in reader.iter_batches(batch_size=BATCH):
        n = batch.num_rows
        extra = [batch.column(0), batch.column(1), batch.column(2),
                 pa.array(np.zeros(n, np.int32))]
        table = pa.Table.from_arrays(list(batch.columns) + extra,
                                     names=batch.schema.names + ["p0", "p1", "p2", "p3"])
        if writer is None:
            writer = pq.ParquetWriter(target, table.schema,
                                      **parquet_write_options(table.schema))
        writer.write_table(table)
    writer.close()


@pytest.fixture(scope="module", params=range(ROUNDS), ids=lambda k: f"round{k}")
def round_number(request):
    """Rounds in turn: pytest runs every path of round 0, then every path of round 1...
    so that the disk's drift over the minutes of a run reaches every path alike."""
    return request.param


def _record(benchmark, kind, rows, seconds_of, round_number, floor_kind=None, **info):
    benchmark.group = "files"
    benchmark.extra_info.update(rows=rows, kind=kind, seconds=seconds_of, round=round_number,
                                **info)
    floor_seconds = FLOORS.get((floor_kind, round_number))
    if floor_seconds is not None:
        benchmark.extra_info["floor_seconds"] = floor_seconds
        benchmark.extra_info["vs_floor"] = seconds_of / floor_seconds
    log = os.environ.get("SMASS_BENCH_LOG")
    if log:  # each result as it comes, for long runs
        import json

        with open(log, "a") as handle:
            handle.write(json.dumps(dict(benchmark.extra_info)) + "\n")


def _same_start(inputs):
    """Every timed run starts alike: earlier outputs flushed to disk, and the inputs read
    once, so that each one finds them in the page cache (else whichever path runs
    after a write of gigabytes pays for it, and the ratios measure the cache)."""
    os.sync()
    for path in inputs:
        for file in ([path] if path.is_file() else sorted(path.glob("*.parquet"))):
            with open(file, "rb") as handle:
                while handle.read(1 << 24):
                    pass


def _timed(benchmark, func, inputs=()):
    """One run of ``func``, from the same start as every other (`_same_start`)."""
    times = []

    def run():
        _same_start(inputs)
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)

    benchmark.pedantic(run, rounds=1, iterations=1)
    return times[0]


def test_floor_one(benchmark, files, round_number, out_dir):
    seconds = _timed(benchmark, lambda: floor(files["one"], out_dir / "floor.parquet"),
                     [files["one"]])
    FLOORS["one", round_number] = seconds
    _record(benchmark, "files_floor_one", ROWS, seconds, round_number, "one")


def test_floor_folder(benchmark, files, round_number, out_dir):
    def run():
        for path in sorted(files["folder"].glob("*.parquet")):
            floor(path, out_dir / path.name)

    seconds = _timed(benchmark, run, [files["folder"]])
    FLOORS["folder", round_number] = seconds
    _record(benchmark, "files_floor_folder", files["folder_rows"], seconds, round_number,
            "folder")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "astropy_smass", "predict", *map(str, args),
                           "--overwrite"], check=True, capture_output=True, text=True)


def test_cli_one(benchmark, files, round_number, out_dir):
    out = out_dir / "masses.parquet"
    seconds = _timed(benchmark, lambda: _cli(files["one"], out, "--model", files["bundle"]),
                     [files["one"]])
    _record(benchmark, "files_cli_one", ROWS, seconds, round_number, "one")
    assert pq.ParquetFile(out).metadata.num_rows == ROWS


def test_cli_folder(benchmark, files, round_number, out_dir):
    out = out_dir / "masses"
    seconds = _timed(benchmark, lambda: _cli(files["folder"], out, "--model",
                                             files["bundle"]), [files["folder"]])
    _record(benchmark, "files_cli_folder", files["folder_rows"], seconds, round_number,
            "folder")
    assert len(list(out.glob("*.parquet"))) == N_FILES


def _peak_rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status
                    if line.startswith("VmHWM")) / 1024


@pytest.mark.parametrize("workers", [1, 2])
def test_dask(benchmark, files, round_number, out_dir, workers, model):
    distributed = pytest.importorskip("dask.distributed")
    from astropy_smass.dask import predict_dask, read_parquet, write_parquet

    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        client.run(lambda: None)  # workers up
        # ... and warm, as those of a running cluster are: a fresh worker imports the
        # package (astropy, pandas, pyarrow) and sets up its first call when its first
        # task arrives. One file predicted and written first, timed apart.
        start = time.perf_counter()
        first = sorted(files["folder"].glob("*.parquet"))[0]
        write_parquet(predict_dask(read_parquet(first), model), out_dir / "warm-up")
        first_file_seconds = time.perf_counter() - start
        out = out_dir / "masses"

        def run():
            write_parquet(predict_dask(read_parquet(files["folder"]), model), out)

        seconds = _timed(benchmark, run, [files["folder"]])
        rss = max(client.run(_peak_rss_mb).values())
    kind = f"files_dask_{workers}"
    _record(benchmark, kind, files["folder_rows"], seconds, round_number, "folder",
            workers=workers, peak_rss_mb_per_worker=rss,
            warm_up_file_seconds=first_file_seconds)
    assert len(list(out.glob("part.*.parquet"))) == N_FILES
