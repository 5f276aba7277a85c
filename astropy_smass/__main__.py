"""``python -m astropy_smass``: the ``astropy-smass`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
