"""The HATS how-to of the docs (docs/hats.rst), end to end and timed, on local files.

    python benchmarks/hats_howto.py WORKDIR [--rows 1000000] [--files 4] [--workers 2]

1. Writes a survey as Parquet files with astropy (13 absolute magnitudes in mag,
   their errors, an id, ra, dec) and a second, spectroscopic catalogue (a tenth of
   the galaxies, positions scattered by 0.2 arcsec, a redshift).
2. Builds a HATS catalogue of each with hats-import.
3. Predicts stellar masses with `astropy_smass.dask.predict_lsdb` (units from the
   survey's own Parquet files) and writes them with `write_lsdb` (atomic, with the
   column metadata and provenance).
4. Cross-matches the masses with the spectroscopic catalogue within 1 arcsec.

Prints the time of each step as JSON. Nothing leaves the machine.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_inputs(work, rows, files, seed=7):
    """The survey (``files`` Parquet files) and the spectroscopic catalogue."""
    import astropy.units as u
    from astropy.table import Table

    sys.path.insert(0, str(ROOT))
    from astropy_smass import load_model
    from benchmarks.common import magnitude_table

    model = load_model("full_vista")
    survey, spectra = work / "survey_parquet", work / "spectra_parquet"
    survey.mkdir()
    spectra.mkdir()
    rng = np.random.default_rng(seed)
    per_file = -(-rows // files)
    for k in range(files):
        n = min(per_file, rows - k * per_file)
        part = Table(magnitude_table(n, errors=True, model=model, seed=seed + k))
        part["objid"] = np.arange(k * per_file, k * per_file + n)
        # A patch of sky 20 x 20 degrees, uniform on the sphere.
        ra = rng.uniform(150.0, 170.0, n)
        dec = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-10.0)),
                                               np.sin(np.radians(10.0)), n)))
        part["ra"], part["dec"] = ra * u.deg, dec * u.deg
        part.write(survey / f"part{k:03d}.parquet")
        chosen = rng.random(n) < 0.1
        spec = Table()
        spec["specid"] = part["objid"][chosen] + 10**9
        jitter = rng.normal(0.0, 0.2 / 3600, (2, chosen.sum()))
        spec["ra"] = (ra[chosen] + jitter[0] / np.cos(np.radians(dec[chosen]))) * u.deg
        spec["dec"] = (dec[chosen] + jitter[1]) * u.deg
        spec["z_spec"] = rng.uniform(0.01, 0.1, chosen.sum())
        spec.write(spectra / f"spec{k:03d}.parquet")
    return survey, spectra


def run(work, rows=1_000_000, files=4, workers=2):
    from dask.distributed import Client, LocalCluster

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    times = {"rows": rows, "files": files, "workers": workers}
    start = time.perf_counter()
    survey, spectra = make_inputs(work, rows, files)
    times["make_inputs_s"] = time.perf_counter() - start

    # -- the how-to from here on -----------------------------------------------------------
    import lsdb
    from hats_import.catalog.arguments import ImportArguments
    from hats_import.pipeline import pipeline_with_client

    from astropy_smass.dask import predict_lsdb, write_lsdb

    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) \
            as cluster, Client(cluster) as client:
        start = time.perf_counter()
        for name, source in (("survey", survey), ("spectra", spectra)):
            arguments = ImportArguments(
                input_path=source, file_reader="parquet", ra_column="ra", dec_column="dec",
                output_path=work / "hats", output_artifact_name=name,
                pixel_threshold=250_000, progress_bar=False, tmp_dir=work / "tmp")
            pipeline_with_client(arguments, client)
        times["hats_import_s"] = time.perf_counter() - start

        start = time.perf_counter()
        galaxies = lsdb.open_catalog(work / "hats" / "survey")
        # hats-import keeps the columns, not astropy's units: take them from the files.
        masses = predict_lsdb(galaxies, "full_vista", schema=survey)
        write_lsdb(masses, work / "hats" / "survey_masses")
        times["predict_and_write_s"] = time.perf_counter() - start

        start = time.perf_counter()
        masses = lsdb.open_catalog(work / "hats" / "survey_masses",
                                   columns=["objid", "ra", "dec", "logmstar",
                                            "logmstar_err", "smass_flag"])
        redshifts = lsdb.open_catalog(work / "hats" / "spectra")
        matched = masses.crossmatch(redshifts, radius_arcsec=1.0, n_neighbors=1,
                                    suffixes=("", "_spec"), suffix_method="overlapping_columns")
        table = matched.compute()
        times["crossmatch_s"] = time.perf_counter() - start
        times["matched_rows"] = len(table)
        good = np.isfinite(table["logmstar"].to_numpy(dtype=float))
        times["matched_with_mass"] = int(good.sum())
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work", help="an empty folder for the catalogues")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.work, args.rows, args.files, args.workers), indent=1))


if __name__ == "__main__":
    main()
