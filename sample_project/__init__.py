"""server-app: a small Flask service that minirunner's example pipeline builds."""

__version__ = "1.0.0"
