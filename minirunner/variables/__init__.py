"""CI/CD variables: GitLab's predefined ones, slugs, and expansion."""
