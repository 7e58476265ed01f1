"""`python3 -m cost` from loadtest/ runs the same command as loadtest/cost.py."""

from .cli import main

main()
