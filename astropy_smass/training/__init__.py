"""Tools that build the network's training data from simulated galaxies only.

`~astropy_smass.training.population` draws a realistic z ~ 0 galaxy population and
computes its rest-frame absolute magnitudes with Bagpipes (an optional dependency:
``pip install astropy-smass[train]``); `~astropy_smass.training.lumfunc` checks that
population against the GAMA z ~ 0 luminosity functions.
`~astropy_smass.training.fit` trains the networks on such a population (scikit-learn,
also in the ``train`` extra) and regenerates the bundled models;
`~astropy_smass.training.shark` reads Shark mock catalogues as training populations.
"""

import importlib

#: Public name -> the submodule that defines it.
_SUBMODULE_OF = {
    **dict.fromkeys(["DEFAULT_HYPERPARAMETERS", "MODEL_DEFINITIONS", "TRAINING_SEED",
                     "compare_architectures", "heldout_scores", "read_population",
                     "train_all", "train_model"], "fit"),
    "read_shark": "shark",
}

__all__ = sorted(_SUBMODULE_OF)


def __getattr__(name):
    # Imported on first use (PEP 562): the command line imports this package for its
    # ``train`` parser, and loading fit (scipy.integrate, the population) up front
    # would add about a second to every ``astropy-smass predict``.
    try:
        submodule = _SUBMODULE_OF[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(f".{submodule}", __name__), name)


def __dir__():
    return __all__
