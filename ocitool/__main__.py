"""`python -m ocitool` runs the CLI."""

from ocitool.entry import main

main()
