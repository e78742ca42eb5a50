"""`spec:inputs` headers and `$[[ inputs.name ]]` interpolation of a file."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from minirunner.config.values import ruby_str, type_name
from minirunner.config.yamlfile import Document
from minirunner.config.yamlnodes import Reference
from minirunner.errors import ConfigError

# Gitlab::Ci::Config::Interpolation::Template::BLOCK_REGEXP
_BLOCK = re.compile(r"\$\[\[\s*(\S.*?\S)\s*\]\]")
_VARIABLE = re.compile(r"\$([a-zA-Z_][a-zA-Z0-9_]*)|\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
_TRUNCATE = re.compile(r"^truncate\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
MAX_BLOCKS = 10_000
MAX_FUNCTIONS = 3
_INPUT_KEYS = frozenset({"default", "description", "options", "regex", "type", "rules"})
_TYPES = ("array", "boolean", "number", "string")


class _Inputs:
    """The values of a file's inputs, checked against its `spec:inputs`."""

    def __init__(self, document: Document, given: Mapping[str, Any]) -> None:
        self.file = document.file
        self.values: dict[str, Any] = {}
        spec = self._spec(document.header or {})
        unknown = [name for name in given if name not in spec]
        if unknown:
            self._fail(f"unknown input arguments: {', '.join(map(str, unknown))}")
        for name, definition in spec.items():
            self.values[name] = self._value(str(name), definition, given)

    def _fail(self, message: str) -> ConfigError:
        raise ConfigError(message, file=self.file, keyword="spec:inputs")

    def _spec(self, header: dict[Any, Any]) -> dict[Any, Any]:
        unknown = [str(key) for key in header if key != "spec"]
        if unknown:
            self._fail(f"header contains unknown keys: {', '.join(unknown)}")
        spec = header.get("spec") or {}
        if not isinstance(spec, dict):
            self._fail("spec should be a hash")
        extra = [
            str(key) for key in spec if key not in ("inputs", "component", "include")
        ]
        if extra:
            self._fail(f"spec contains unknown keys: {', '.join(extra)}")
        inputs = spec.get("inputs") or {}
        if not isinstance(inputs, dict):
            self._fail("spec:inputs should be a hash")
        return inputs

    def _value(self, name: str, definition: Any, given: Mapping[str, Any]) -> Any:
        definition = definition if definition is not None else {}
        if not isinstance(definition, dict):
            self._fail(f"`{name}` input: specification should be a hash")
        extra = [str(key) for key in definition if key not in _INPUT_KEYS]
        if extra:
            self._fail(f"`{name}` input: contains unknown keys: {', '.join(extra)}")
        kind = definition.get("type", "string")
        if kind not in _TYPES:
            self._fail(
                f"unknown input specification for `{name}` "
                f"(valid types: {', '.join(_TYPES)})"
            )
        if "default" in definition:
            self._check(name, kind, definition, definition["default"], "default")
        if name in given and given[name] is not None:
            value = given[name]
            self._check(name, kind, definition, value, "provided")
            return value
        if "default" not in definition:
            self._fail(f"`{name}` input: required value has not been provided")
        return definition["default"]

    def _check(
        self, name: str, kind: str, definition: dict[Any, Any], value: Any, which: str
    ) -> None:
        valid = {
            "string": isinstance(value, str),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "array": isinstance(value, list),
        }[kind]
        if not valid:
            self._fail(f"`{name}` input: {which} value is not {_article(kind)}")
        options = definition.get("options")
        if options is not None:
            if kind not in ("string", "number"):
                self._fail(
                    f"`{name}` input: Options can only be used with string and "
                    "number inputs"
                )
            if value not in options:
                self._fail(
                    f"`{name}` input: `{ruby_str(value)}` cannot be used because it "
                    "is not in the list of allowed options"
                )
        pattern = definition.get("regex")
        if pattern is not None:
            if kind != "string":
                self._fail(
                    f"`{name}` input: RegEx validation can only be used with string "
                    "inputs"
                )
            if not _regex_matches(str(pattern), value):
                self._fail(
                    f"`{name}` input: {which} value does not match required RegEx "
                    "pattern"
                )


def _article(kind: str) -> str:
    return "an array" if kind == "array" else f"a {kind}"


def _regex_matches(pattern: str, value: str) -> bool:
    if pattern.startswith("/") and pattern.rstrip("imsx").endswith("/"):
        pattern = pattern[1 : pattern.rstrip("imsx").rfind("/")]
    try:
        import re2

        return bool(re2.search(pattern, value))
    except ImportError:
        return bool(re.search(pattern, value))


class _Interpolator:
    """Replaces `$[[ ... ]]` blocks in keys and values, as GitLab's Template does."""

    def __init__(
        self, file: str, inputs: dict[str, Any], variables: Mapping[str, str]
    ) -> None:
        self.file = file
        self.context = {"inputs": inputs}
        self.variables = variables
        self.blocks: dict[str, Any] = {}

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value) if "$[[" in value else value
        if isinstance(value, list):
            return [self.walk(item) for item in value]
        if isinstance(value, dict):
            return {self.walk(key): self.walk(item) for key, item in value.items()}
        if isinstance(value, Reference):
            path = tuple(self.walk(part) for part in value.path)
            return Reference(path, value.file, value.line)
        return value

    def text(self, node: str) -> Any:
        matches = list(_BLOCK.finditer(node))
        if not matches:
            return node
        values = [self.block(match.group(0), match.group(1)) for match in matches]
        if len(matches) == 1 and matches[0].group(0) == node:
            return values[0]
        result = node
        for match, value in zip(matches, values, strict=True):
            result = result.replace(match.group(0), ruby_str(value))
        return result

    def block(self, block: str, data: str) -> Any:
        if block in self.blocks:
            return self.blocks[block]
        if len(self.blocks) >= MAX_BLOCKS:
            self.fail("too many interpolation blocks")
        access, *functions = (part.strip() for part in data.split("|"))
        if len(functions) > MAX_FUNCTIONS:
            self.fail("too many functions in interpolation block")
        value = self.access(access)
        for function in functions:
            value = self.function(function, value)
        self.blocks[block] = value
        return value

    def access(self, access: str) -> Any:
        objects = access.split(".", 4)
        if len(objects) <= 1:
            self.fail("invalid interpolation access pattern")
        value: Any = self.context
        for key in objects:
            if not isinstance(value, dict) or key not in value:
                self.fail(f"unknown interpolation key: `{key}`")
            value = value[key]
        return value

    def function(self, function: str, value: Any) -> Any:
        if function == "expand_vars" and isinstance(value, str):
            return _VARIABLE.sub(
                lambda m: self.variables.get(m.group(1) or m.group(2), ""), value
            )
        if function == "posix_escape" and isinstance(value, str):
            return re.sub(r"([^A-Za-z0-9_\-.,:+/@\n])", r"\\\1", value)
        if function == "posix_quote" and isinstance(value, str):
            return shlex.quote(value)
        truncate = _TRUNCATE.match(function)
        if truncate and isinstance(value, str):
            start, length = int(truncate.group(1)), int(truncate.group(2))
            return value[start : start + length]
        self.fail(
            f"no function matching `{function}`: check that the function name, "
            f"arguments, and types are correct (the value is {type_name(value)})"
        )

    def fail(self, message: str) -> Any:
        raise ConfigError(message, file=self.file, keyword="$[[ ]]")


def interpolate(
    document: Document,
    given: Mapping[str, Any] | None,
    variables: Mapping[str, str],
) -> dict[Any, Any] | None:
    """The document's configuration with its inputs interpolated.

    A file without a `spec:` header is left as it is and takes no inputs.
    """
    given = given or {}
    if document.header is None:
        if given:
            raise ConfigError(
                "Given inputs not defined in the `spec` section of the included "
                "configuration file",
                file=document.file,
            )
        return document.content
    inputs = _Inputs(document, given)
    if document.content is None:
        return None
    result: dict[Any, Any] = _Interpolator(
        document.file, inputs.values, variables
    ).walk(document.content)
    return result
