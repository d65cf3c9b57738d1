"""`python -m jupyter_mlops.cli ...`: the same as `jupyter mlops ...`."""

import sys

from . import main

sys.exit(main())
