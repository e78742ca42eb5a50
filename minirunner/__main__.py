"""Allow ``python -m minirunner``."""

from minirunner.cli import main

main()
