"""Turn a pytest-benchmark JSON file into the table of ratios against the baselines.

Usage::

    python benchmarks/report.py benchmarks/results.json [--stat min|median|mean] [--rst]

For each row count: seconds, galaxies per second (per core: the benchmarks run with
one BLAS thread), and the ratio of each path's time to the three baselines measured
in the same run: (a) the bare numpy network on a pre-built feature array, (b)
scikit-learn's ``MLPRegressor.predict`` with the same weights, (c) the Taylor et al.
(2011) colour formula. Peak memory of the streaming subprocess runs is listed too.
"""

import argparse
import json
from collections import defaultdict

BASELINES = {"floor": "a", "sklearn": "b", "taylor": "c"}
ORDER = ["floor", "sklearn", "taylor", "network", "magnitudes", "point", "analytic",
         "montecarlo", "stream_parquet", "stream_fits", "stream_parquet_subprocess",
         "stream_fits_subprocess"]


def load(path, stat="min"):
    """``{rows: {kind: (seconds, extra_info)}}`` from a pytest-benchmark JSON file."""
    with open(path) as handle:
        data = json.load(handle)
    table = defaultdict(dict)
    for bench in data["benchmarks"]:
        info = bench.get("extra_info", {})
        if "kind" not in info:
            continue
        table[int(info["rows"])][info["kind"]] = (bench["stats"][stat], info)
    return dict(sorted(table.items())), data.get("smass", {})


def rows_of_report(table):
    """One dict per (rows, kind) with the derived figures."""
    out = []
    for n, kinds in table.items():
        base = {k: kinds[k][0] for k in BASELINES if k in kinds}
        point = kinds.get("point", (None,))[0]
        for kind in sorted(kinds, key=lambda k: ORDER.index(k) if k in ORDER else 99):
            seconds, info = kinds[kind]
            row = {"rows": n, "kind": kind, "seconds": seconds, "rows_per_s": n / seconds}
            for name, letter in BASELINES.items():
                row[f"vs_{letter}"] = seconds / base[name] if name in base else None
            row["vs_point"] = seconds / point if point else None
            row["peak_rss_mb"] = info.get("peak_rss_mb")
            out.append(row)
    return out


def _fmt(value, spec):
    return "" if value is None else format(value, spec)


def render(rows, rst=False):
    header = ["rows", "path", "seconds", "galaxies/s/core", "/ (a) floor", "/ (b) sklearn",
              "/ (c) Taylor", "/ point", "peak RSS (MB)"]
    lines = [[f"{r['rows']:.0e}", r["kind"], _fmt(r["seconds"], ".4g"),
              _fmt(r["rows_per_s"], ",.0f"), _fmt(r["vs_a"], ".2f"), _fmt(r["vs_b"], ".2f"),
              _fmt(r["vs_c"], ".1f"), _fmt(r["vs_point"], ".2f"),
              _fmt(r["peak_rss_mb"], ".0f")] for r in rows]
    widths = [max(len(h), *(len(line[k]) for line in lines)) for k, h in enumerate(header)]
    if rst:
        rule = "  ".join("=" * w for w in widths)
        body = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths)), rule]
        body += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
        return "\n".join(body + [rule])
    body = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
            "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    body += ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |"
             for line in lines]
    return "\n".join(body)


FILE_KINDS = {
    "files_floor_one": "pyarrow read + write, one file (floor)",
    "files_cli_one": "astropy-smass predict, one file",
    "files_floor_folder": "pyarrow read + write, 20 files (floor)",
    "files_cli_folder": "astropy-smass predict, folder of 20 files",
    "files_dask_1": "predict_dask + write_parquet, 1 worker",
    "files_dask_2": "predict_dask + write_parquet, 2 workers",
}


def files_report(path, rst=False):
    """The file-to-file benchmarks (test_files.py): the fastest run of each path, and its
    ratio to the fastest run of the floor of the same files, in the same rounds."""
    with open(path) as handle:
        data = json.load(handle)
    runs = {}
    for bench in data["benchmarks"]:
        info = bench.get("extra_info", {})
        if info.get("kind") in FILE_KINDS:
            runs.setdefault(info["kind"], []).append(info)

    def fastest(kind):
        return min(info["seconds"] for info in runs[kind]) if kind in runs else None

    floors = {"one": fastest("files_floor_one"), "folder": fastest("files_floor_folder")}
    header = ["path", "rows", "wall (s)", "x floor", "peak RSS/worker (MiB)"]
    lines = []
    for kind, label in FILE_KINDS.items():
        if kind not in runs:
            continue
        seconds = fastest(kind)
        floor = floors["one" if kind.endswith("_one") else "folder"]
        rss = [info["peak_rss_mb_per_worker"] for info in runs[kind]
               if "peak_rss_mb_per_worker" in info]
        lines.append([label, f"{runs[kind][0]['rows']:,}", f"{seconds:.1f}",
                      _fmt(seconds / floor if floor else None, ".2f"),
                      _fmt(max(rss) if rss else None, ".0f")])
    widths = [max(len(h), *(len(line[k]) for line in lines)) for k, h in enumerate(header)]
    if rst:
        rule = "  ".join("=" * w for w in widths)
        body = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths)), rule]
        body += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
        body.append(rule)
    else:
        body = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |"]
        body += ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |"
                 for line in lines]
    if "files_dask_1" in runs and "files_dask_2" in runs:
        body.append(f"\nDask speed-up from 1 to 2 workers: "
                    f"{fastest('files_dask_1') / fastest('files_dask_2'):.2f}x "
                    f"over {len(runs['files_dask_2'])} rounds")
    return "\n".join(body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json", help="pytest-benchmark JSON (--benchmark-json)")
    parser.add_argument("--stat", default="min", choices=["min", "median", "mean"])
    parser.add_argument("--rst", action="store_true", help="reStructuredText table")
    parser.add_argument("--files", action="store_true",
                        help="the file-to-file benchmarks (test_files.py): ratios to the floor")
    args = parser.parse_args(argv)
    if args.files:
        print(files_report(args.json, rst=args.rst))
        return
    table, about = load(args.json, args.stat)
    if about:
        print(f"model {about.get('model')}: {about.get('n_bands')} bands, "
              f"{about.get('hidden')} {about.get('activation')} units; numpy "
              f"{about.get('numpy')}; BLAS {about.get('blas')}; statistic: {args.stat}\n")
    print(render(rows_of_report(table), rst=args.rst))


if __name__ == "__main__":
    main()
