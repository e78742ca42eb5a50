"""minirunner: run a repository's .gitlab-ci.yml locally, with GitLab's semantics."""

__version__ = "0.1.0"
