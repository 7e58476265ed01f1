"""`python3 deploy/verify ARGS` (what deploy/verify.sh runs): main() of verify.cli."""

import os
import sys

if not __package__:
    # Run as a directory, Python puts deploy/verify itself first on sys.path; the modules
    # import each other relatively, so they must be imported as the package `verify`.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from verify.cli import main  # noqa: E402

sys.exit(main())
