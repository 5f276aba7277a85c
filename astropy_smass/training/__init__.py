"""Tools that build the network's training data from simulated galaxies only.

`~astropy_smass.training.population` draws a realistic z ~ 0 galaxy population and
computes its rest-frame absolute magnitudes with Bagpipes (an optional dependency:
``pip install astropy-smass[train]``); `~astropy_smass.training.lumfunc` checks that
population against the GAMA z ~ 0 luminosity functions.
"""
