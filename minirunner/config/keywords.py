"""Which keywords GitLab accepts where (lib/gitlab/ci/config/entry/*.rb)."""

from __future__ import annotations

# Root entry keys; the reserved ones can never name a job.
RESERVED = frozenset(
    {
        "include",
        "before_script",
        "image",
        "services",
        "after_script",
        "variables",
        "stages",
        "types",
        "cache",
    }
)
GLOBAL = RESERVED | {"default", "workflow"}

# Keys of `default:`; a job that lacks one takes it (inherit: true entries).
DEFAULT_KEYS = (
    "after_script",
    "artifacts",
    "before_script",
    "cache",
    "hooks",
    "id_tokens",
    "image",
    "interruptible",
    "retry",
    "services",
    "tags",
    "timeout",
)
# The deprecated top-level forms of some `default:` keys.
DEPRECATED_GLOBALS = ("before_script", "after_script", "image", "services", "cache")

# Entry::Processable::PROCESSABLE_ALLOWED_KEYS, shared by jobs and bridges.
PROCESSABLE = frozenset(
    {
        "extends",
        "stage",
        "only",
        "except",
        "rules",
        "variables",
        "inherit",
        "allow_failure",
        "when",
        "needs",
        "resource_group",
        "environment",
        "interruptible",
    }
)
JOB = PROCESSABLE | {
    "tags",
    "script",
    "run",
    "type",
    "image",
    "services",
    "start_in",
    "artifacts",
    "cache",
    "dependencies",
    "before_script",
    "after_script",
    "hooks",
    "coverage",
    "retry",
    "parallel",
    "timeout",
    "release",
    "secrets",
    "id_tokens",
    "publish",
    "pages",
    "manual_confirmation",
    "inputs",
    "dast_configuration",
    "identity",
}
BRIDGE = PROCESSABLE | {"trigger", "parallel", "inputs"}

JOB_WHEN = ("on_success", "on_failure", "always", "manual", "delayed")
BRIDGE_WHEN = ("on_success", "on_failure", "always", "manual")
RULE_WHEN = ("on_success", "on_failure", "always", "never", "manual", "delayed")
WORKFLOW_WHEN = ("always", "never")

RULE_KEYS = frozenset(
    {
        "if",
        "changes",
        "exists",
        "when",
        "start_in",
        "allow_failure",
        "variables",
        "needs",
        "interruptible",
    }
)
WORKFLOW_RULE_KEYS = frozenset(
    {"if", "changes", "exists", "when", "variables", "auto_cancel"}
)
WORKFLOW_KEYS = frozenset({"rules", "name", "auto_cancel"})

IMAGE_KEYS = frozenset(
    {"name", "entrypoint", "ports", "docker", "pull_policy", "kubernetes"}
)
SERVICE_KEYS = frozenset(
    {
        "name",
        "entrypoint",
        "command",
        "alias",
        "ports",
        "variables",
        "pull_policy",
        "docker",
        "kubernetes",
    }
)
PULL_POLICIES = ("always", "never", "if-not-present")
ARTIFACTS_KEYS = frozenset(
    {
        "name",
        "untracked",
        "paths",
        "reports",
        "when",
        "expire_in",
        "expose_as",
        "exclude",
        "public",
        "access",
    }
)
ARTIFACTS_WHEN = ("on_success", "on_failure", "always")
CACHE_KEYS = frozenset(
    {"key", "untracked", "paths", "when", "policy", "unprotect", "fallback_keys"}
)
CACHE_WHEN = ("on_success", "on_failure", "always")
MAX_CACHES = 4
ENVIRONMENT_KEYS = frozenset(
    {
        "name",
        "url",
        "action",
        "on_stop",
        "auto_stop_in",
        "kubernetes",
        "deployment_tier",
    }
)
ENVIRONMENT_ACTIONS = ("start", "prepare", "stop", "verify", "access")
DEPLOYMENT_TIERS = ("production", "staging", "testing", "development", "other")
RETRY_KEYS = frozenset({"max", "when", "exit_codes"})
# Ci::Build.failure_reasons, plus `always`.
RETRY_WHEN = (
    "always",
    "unknown_failure",
    "script_failure",
    "api_failure",
    "stuck_or_timeout_failure",
    "runner_system_failure",
    "missing_dependency_failure",
    "runner_unsupported",
    "stale_schedule",
    "job_execution_timeout",
    "archived_failure",
    "unmet_prerequisites",
    "scheduler_failure",
    "data_integrity_failure",
    "forward_deployment_failure",
    "user_blocked",
    "project_deleted",
    "ci_quota_exceeded",
    "pipeline_loop_detected",
    "no_matching_runner",
    "trace_size_exceeded",
    "builds_disabled",
    "environment_creation_failure",
    "deployment_rejected",
    "failed_outdated_deployment_job",
    "protected_environment_failure",
    "insufficient_bridge_permissions",
    "downstream_bridge_project_not_found",
    "invalid_bridge_trigger",
    "upstream_bridge_project_not_found",
    "insufficient_upstream_permissions",
    "bridge_pipeline_is_child_pipeline",
    "downstream_pipeline_creation_failed",
    "secrets_provider_not_found",
    "reached_max_descendant_pipelines_depth",
    "ip_restriction_failure",
    "reached_max_pipeline_hierarchy_size",
    "reached_downstream_pipeline_trigger_rate_limit",
)
NEED_KEYS = frozenset({"job", "artifacts", "optional", "parallel"})
CROSS_NEED_KEYS = frozenset(
    {"job", "artifacts", "optional", "pipeline", "project", "ref"}
)
INHERIT_KEYS = frozenset({"default", "variables"})
FORWARD_KEYS = frozenset({"yaml_variables", "pipeline_variables"})
TRIGGER_KEYS = frozenset(
    {"project", "branch", "strategy", "forward", "include", "inputs"}
)
TRIGGER_INCLUDE_KEYS = frozenset(
    {
        "local",
        "template",
        "artifact",
        "job",
        "project",
        "file",
        "ref",
        "component",
        "remote",
        "inputs",
    }
)
ONLY_KEYS = frozenset({"refs", "variables", "changes", "kubernetes"})
GLOBAL_VARIABLE_DATA = frozenset({"value", "description", "expand", "options"})
JOB_VARIABLE_DATA = frozenset({"value", "expand"})
