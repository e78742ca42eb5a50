"""Run server-app: `python -m sample_project`."""

from sample_project.app import main

main()
