"""Tools that build the network's training data from simulated galaxies only.

`~astropy_smass.training.population` draws a realistic z ~ 0 galaxy population and
computes its rest-frame absolute magnitudes with Bagpipes (an optional dependency:
``pip install astropy-smass[train]``); `~astropy_smass.training.lumfunc` checks that
population against the GAMA z ~ 0 luminosity functions.
`~astropy_smass.training.fit` trains the networks on such a population (scikit-learn,
also in the ``train`` extra) and regenerates the bundled models;
`~astropy_smass.training.shark` reads Shark mock catalogues as training populations.
"""

from .fit import (
    DEFAULT_HYPERPARAMETERS,
    MODEL_DEFINITIONS,
    TRAINING_SEED,
    compare_architectures,
    heldout_scores,
    read_population,
    train_all,
    train_model,
)
from .shark import read_shark

__all__ = ["DEFAULT_HYPERPARAMETERS", "MODEL_DEFINITIONS", "TRAINING_SEED",
           "compare_architectures", "heldout_scores", "read_population", "read_shark",
           "train_all", "train_model"]
