"""The ``astropy-smass train`` command.

::

    astropy-smass train [--out DIR] [--models NAME ...] [--overwrite]
                        [--population PATH] [--n N] [--seed S] [--workers W]
                        [--catalogue SHARK_FILE [--h H] [--group G] [--mass COL ...]]
    astropy-smass train --bands BAND ... [--zmax Z] [--name NAME] [--population PATH]

Without ``--catalogue`` the command regenerates the simulated population (cached in
``--population``, see `~astropy_smass.training.population.load_or_generate_population`)
and trains the bundled models on it with the fixed seeds, which reproduces the bundled
networks. With ``--catalogue`` it trains on a Shark catalogue instead
(`~astropy_smass.training.shark.read_shark`).

This module imports only the standard library at import time, so that the main
command can offer ``train`` whether or not the ``train`` extra (scikit-learn,
Bagpipes, h5py) is installed; running it without them fails with a clear message.
"""

import sys
from pathlib import Path

from ..exceptions import MissingDependencyError, OutputExistsError, TrainError

__all__ = ["add_train_parser", "run_train", "DEFAULT_POPULATION_SEED", "DEFAULT_POPULATION_SIZE"]

#: Seed and size of the population the bundled models were trained on.
DEFAULT_POPULATION_SEED = 20261202
DEFAULT_POPULATION_SIZE = 400_000


def add_train_parser(subparsers):
    """Add the ``train`` sub-command to an `argparse` sub-parser collection.

    Returns
    -------
    argparse.ArgumentParser
        The new sub-parser (its ``run`` default is `run_train`).
    """
    train = subparsers.add_parser(
        "train", help="train the networks (regenerates the bundled models by default)",
        description="Train stellar-mass networks on simulated galaxies and write model "
                    "bundles (<name>.json + <name>.npz) to --out and a report beside it "
                    "(<DIR>_training_report.json). "
                    "Without --catalogue, the simulated population is regenerated (or read "
                    "from its --population cache) and the bundled models are retrained with "
                    "their fixed seeds. Needs the train extra: pip install "
                    "'astropy-smass[train]'.")
    train.add_argument("--out", default="smass_models", metavar="DIR",
                       help="folder for the bundles (default smass_models)")
    train.add_argument("--models", nargs="+", metavar="NAME",
                       help="models to train (default: all bundled models; with --catalogue, "
                            "those whose bands the catalogue has)")
    train.add_argument("--overwrite", action="store_true", help="replace existing files")
    custom = train.add_argument_group("a model for another band set")
    custom.add_argument("--bands", nargs="+", metavar="BAND",
                        help="train one model on these bands (band keys or filter names, "
                             "e.g. decam_g decam_r decam_z W1) instead of the bundled ones")
    custom.add_argument("--zmax", type=float, metavar="Z",
                        help="with --bands: an observed-frame model of apparent magnitudes "
                             "and redshift, for 0 <= z <= Z (at most the population's 1.25); "
                             "without it, a rest-frame model of absolute magnitudes")
    custom.add_argument("--name", metavar="NAME",
                        help="with --bands: the model's name (default from the bands)")
    source = train.add_argument_group("simulated population (default source)")
    source.add_argument("--population", metavar="PATH",
                        help="population HDF5 cache (default DIR/population.hdf5); an "
                             "existing file is used as it is unless --n or --seed is given")
    source.add_argument("--n", type=int, metavar="N",
                        help=f"galaxies to generate (default {DEFAULT_POPULATION_SIZE})")
    source.add_argument("--seed", type=int, metavar="S",
                        help=f"population seed (default {DEFAULT_POPULATION_SEED})")
    source.add_argument("--workers", type=int, default=None, metavar="W",
                        help="processes generating spectra (default: all cores)")
    shark = train.add_argument_group("Shark catalogue (instead of the population)")
    shark.add_argument("--catalogue", metavar="FILE",
                       help="train on this Shark catalogue (HDF5, FITS, Parquet, ...), "
                            "see astropy_smass.training.shark.read_shark")
    shark.add_argument("--h", type=float, metavar="H",
                       help="Hubble parameter h to turn Msun/h into Msun (default: from the "
                            "file; 1 if masses are in Msun)")
    shark.add_argument("--group", metavar="G", help="HDF5 group of the galaxies")
    shark.add_argument("--mass", nargs="+", metavar="COL",
                       help="mass column(s) (default log_mstar_total or "
                            "mstars_bulge + mstars_disk)")
    net = train.add_argument_group("network (defaults: those of the bundled models)")
    net.add_argument("--train-seed", type=int, metavar="S",
                     help="seed of the split, initialisation and mini-batch order")
    net.add_argument("--hidden", type=int, metavar="UNITS", help="hidden units")
    net.add_argument("--activation", choices=("relu", "tanh", "logistic"))
    net.add_argument("--noise", type=float, metavar="MAG",
                     help="photometric noise (mag) added to the training magnitudes "
                          "(default 0.05)")
    net.add_argument("--compare", action="store_true",
                     help="also compare hidden widths and activations on the first model and "
                          "record it in the report")
    train.set_defaults(run=run_train)
    return train


def _require_train_extra(need_population):
    missing = []
    for module, package in (("sklearn", "scikit-learn"), ("threadpoolctl", "threadpoolctl"),
                            ("h5py", "h5py")):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if need_population:
        for module, package in (("bagpipes", "bagpipes"), ("sedpy", "astro-sedpy")):
            try:
                __import__(module)
            except ImportError:
                missing.append(package)
    if missing:
        raise MissingDependencyError(f"astropy-smass train needs {', '.join(missing)}: "
                                     "pip install 'astropy-smass[train]'")


def _progress(message):
    print(f"astropy-smass: {message}", file=sys.stderr, flush=True)


def run_train(args):
    """Run ``astropy-smass train`` with parsed arguments; returns the exit status."""
    import os

    out = Path(args.out)
    population_path = Path(args.population) if args.population else out / "population.hdf5"
    use_cache = (args.catalogue is None and population_path.exists() and args.n is None
                 and args.seed is None)
    _require_train_extra(need_population=args.catalogue is None and not use_cache)

    from .fit import (
        MODEL_DEFINITIONS,
        TRAINING_SEED,
        bundled_definitions,
        compare_architectures,
        default_report_path,
        model_definition,
        train_all,
    )

    if args.catalogue is not None:
        from .shark import read_shark

        if args.population or args.n is not None or args.seed is not None:
            raise TrainError("--catalogue trains on a Shark catalogue: --population, --n and "
                             "--seed apply to the simulated population only")
        population = read_shark(args.catalogue, h=args.h, group=args.group, mass=args.mass)
        have = {c for c in population.colnames if c != "logmstar"}
        if args.models:
            models = _named_models(args.models, MODEL_DEFINITIONS)
            lacking = {n: [b for b in bands if b not in have] for n, bands in models.items()}
            lacking = {n: b for n, b in lacking.items() if b}
            if lacking:
                raise TrainError("the catalogue lacks bands for " + "; ".join(
                    f"{n} ({' '.join(b)})" for n, b in lacking.items()))
        else:
            models = {n: b for n, b in MODEL_DEFINITIONS.items() if set(b) <= have}
            if not models:
                raise TrainError(f"the catalogue's bands ({' '.join(sorted(have))}) suit none "
                                 f"of the models; name bands explicitly in Python with "
                                 "train_model")
        _check_outputs(out, models, default_report_path(out), args.overwrite)
        _progress(f"read {len(population)} galaxies from {args.catalogue}")
    else:
        from .population import load_or_generate_population

        if args.bands:
            models = {_custom_name(args): {"bands": _band_keys(args.bands),
                                           "redshift_range": (None if args.zmax is None
                                                              else [0.0, args.zmax])}}
        elif args.models:
            models = _named_models(args.models, bundled_definitions())
        else:
            models = bundled_definitions()
        _check_outputs(out, models, default_report_path(out), args.overwrite)
        if use_cache:
            from .fit import read_population

            population = read_population(population_path)
            _progress(f"read the population cached in {population_path}")
        else:
            n = DEFAULT_POPULATION_SIZE if args.n is None else args.n
            seed = DEFAULT_POPULATION_SEED if args.seed is None else args.seed
            _progress(f"generating (or reading) {n} galaxies with seed {seed} in "
                      f"{population_path}; this takes a while")
            population_path.parent.mkdir(parents=True, exist_ok=True)
            population = load_or_generate_population(
                population_path, n, seed=seed, n_workers=args.workers or os.cpu_count() or 1,
                progress=sys.stderr.isatty())

    kwargs = {key: value for key, value in (("hidden", args.hidden),
                                             ("activation", args.activation),
                                             ("noise_mag", args.noise)) if value is not None}
    seed = TRAINING_SEED if args.train_seed is None else args.train_seed
    comparison = None
    if args.compare:
        bands = model_definition(next(iter(models.values())))[0]
        _progress(f"comparing architectures on {' '.join(bands)}")
        comparison = compare_architectures(population, bands, seed=seed,
                                           **{k: v for k, v in kwargs.items()
                                              if k not in ("hidden", "activation")})
    train_all(population, out, seed=seed, models=models, overwrite=args.overwrite,
              comparison=comparison, progress=_progress, **kwargs)
    _progress(f"wrote {', '.join(models)} to {out} and the report to "
              f"{default_report_path(out)}")
    return 0


def _check_outputs(out, names, report, overwrite):
    # Fail before the (long) generation and training, not after them.
    if overwrite:
        return
    existing = [str(p) for p in [report,
                                 *(out / f"{n}.{e}" for n in names for e in ("json", "npz"))]
                if p.exists()]
    if existing:
        raise OutputExistsError(f"{', '.join(existing)} exist; pass --overwrite to replace them")


def _band_keys(names):
    from ..photometry.bands import get_band

    try:
        return [get_band(name).name for value in names for name in value.split(",") if name]
    except (KeyError, ValueError) as exc:
        raise TrainError(str(exc)) from exc


def _custom_name(args):
    if args.name:
        return args.name
    name = "_".join(_band_keys(args.bands))
    return name if args.zmax is None else f"{name}_z{args.zmax:g}"


def _named_models(names, definitions):
    # Accept "a b", "a,b" and a mix.
    names = [n for value in names for n in value.split(",") if n]
    unknown = [n for n in names if n not in definitions]
    if unknown:
        raise TrainError(f"unknown model {', '.join(map(repr, unknown))}; choose from "
                         f"{', '.join(definitions)}")
    return {n: definitions[n] for n in names}
