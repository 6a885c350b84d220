"""`python -m mitmrelay`: the same as the `mitmrelay` command."""

import sys

from mitmrelay.cli.main import main

sys.exit(main())
