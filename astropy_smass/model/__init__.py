"""The model: features, network, training domain, bias correction, uncertainty, and the
bundle that stores them (`~astropy_smass.model.bundle`)."""
