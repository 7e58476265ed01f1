#!/usr/bin/env python3
"""The cost model's command (docs/cost.md): `python3 loadtest/cost.py [--quick] ...`. The code is
the package next to this file, loadtest/cost/ (the package, not this file, is what `import cost`
finds: a directory with __init__.py wins over a module of the same name)."""

from cost.cli import main

if __name__ == "__main__":
    main()
