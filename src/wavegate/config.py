""".wavegate.yaml: read through the one loader, validated against the shipped JSON schema."""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from wavegate.errors import ConfigError
from wavegate.findings import Severity
from wavegate.load import DEFAULT_MAX_FILE_BYTES, Limits, read_yaml

if TYPE_CHECKING:
    import jsonschema

CONFIG_NAME = ".wavegate.yaml"
OFF = "off"




@dataclass
class Config:
    path: Path | None = None
    raw: dict = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    repo_url: str | None = None
    namespaces: frozenset[str] = frozenset()
    argocd_version: int = 3
    require_resources_finalizer: bool = False
    argocd_config_map: str | None = None
    kubernetes_version: str | None = None
    schemas: tuple[str, ...] = ()
    policies: str | None = None
    environments: tuple["Environment", ...] = ()

    def environment(self, name: str) -> "Environment":
        """The environment called `name`; ConfigError naming the known ones otherwise."""
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(e.name for e in self.environments) or "none: add an `environments:` block to .wavegate.yaml"
        raise ConfigError(f"no environment {name!r} in the configuration (environments: {known})")

    @property
    def limits(self) -> Limits:
        return Limits(max_file_bytes=self.max_file_bytes)

    def severity_for(self, rule_id: str, default: Severity) -> Severity | None:
        """The configured severity of a rule, or None when it is turned off."""
        setting = self.rules.get(rule_id)
        if setting is None:
            return default
        if setting == OFF:
            return None
        return Severity.parse(setting)


@dataclass(frozen=True)
class Environment:
    """One promotion environment (`environments:` in .wavegate.yaml); `path` is relative to the
    configuration file's directory, `/`-separated; `keep`, `gates` and `application` as written."""

    name: str
    path: str
    promote_from: str | None = None
    keep: tuple[dict, ...] = ()
    gates: dict = field(default_factory=dict)
    application: dict | None = None
    protected: bool = False  # its Applications must pin their revision (validators.argocd_target_revision)


@cache
def config_schema() -> dict:
    return json.loads(resources.files("wavegate.data").joinpath("config.schema.json").read_text())


def load_config(root: Path, explicit: Path | None = None) -> Config:
    """The configuration for the repository at `root`: `explicit` if given, else root/.wavegate.yaml."""
    path = explicit if explicit is not None else root / CONFIG_NAME
    if not path.exists():
        if explicit is not None:
            raise ConfigError(f"{explicit}: no such configuration file")
        return Config()
    documents, problems = read_yaml(path, rel=str(path))
    if problems:
        first = problems[0]
        raise ConfigError(f"{first.path}:{first.line}:{first.column}: {first.message}")
    if len(documents) > 1:
        raise ConfigError(f"{path}: holds {len(documents)} YAML documents; the configuration is one mapping")
    if not documents:
        return Config(path=path)
    document = documents[0]
    errors = _schema_errors(document.data)
    if errors:
        error = errors[0]
        where = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            where += tuple(extra[:1])  # point at the unknown key itself
        line, column = document.position(where)
        raise ConfigError(f"{path}:{line}:{column}: {_describe(error)}")
    _check_environments(document, path)
    _check_exception_dates(document, path)
    return from_data(document.data, path)


@cache
def _quick_validator():
    import jsonschema_rs

    return jsonschema_rs.validator_for(config_schema())


def _schema_errors(data) -> list[jsonschema.ValidationError]:
    """The schema errors of a configuration, sorted by where they are. A valid configuration (the
    usual case) is recognised by jsonschema_rs, which the schema store loads anyway; importing
    jsonschema costs more than the rest of a small repository's check. It accepts nothing that
    jsonschema rejects for this schema (its `$` does not match before a final newline, Python's
    does), and anything it does not accept is judged, and explained, by jsonschema as always."""
    try:
        if _quick_validator().is_valid(data):
            return []
    except Exception:  # noqa: BLE001 - a value it cannot take (NaN, ...): jsonschema decides
        pass
    import jsonschema

    return sorted(jsonschema.Draft202012Validator(config_schema()).iter_errors(data),
                  key=lambda e: list(e.absolute_path))


def _check_environments(document, path: Path) -> None:
    """What the schema cannot say: folders exist, promoteFrom names an environment, no cycles."""
    from datetime import datetime

    envs = document.data.get("environments") or []
    names: dict[str, int] = {}
    for i, env in enumerate(envs):
        where = ("environments", i)
        if env["name"] in names:
            line, column = document.position(where + ("name",), key=False)
            raise ConfigError(f"{path}:{line}:{column}: environment {env['name']!r} is defined twice")
        names[env["name"]] = i
        folder = (path.parent / env["path"]).resolve()
        if not folder.is_dir():
            line, column = document.position(where + ("path",), key=False)
            raise ConfigError(f"{path}:{line}:{column}: environment {env['name']!r}: path {env['path']!r} is not a "
                              f"directory next to {path.name}; create it or fix the path")
        for j, window in enumerate((env.get("gates") or {}).get("freeze") or []):
            for key in ("start", "end"):
                if key in window:
                    try:
                        datetime.fromisoformat(window[key])
                    except ValueError:
                        line, column = document.position(where + ("gates", "freeze", j, key), key=False)
                        raise ConfigError(f"{path}:{line}:{column}: freeze {key} {window[key]!r} is not an ISO 8601 "
                                          f"date or date-time (2025-12-24 or 2025-12-24T18:00:00Z)") from None
    for i, env in enumerate(envs):
        source = env.get("promoteFrom")
        if source is None:
            continue
        line, column = document.position(("environments", i, "promoteFrom"), key=False)
        if source not in names:
            close = difflib.get_close_matches(source, list(names), n=1)
            guess = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{path}:{line}:{column}: environment {env['name']!r} is promoted from {source!r}, "
                              f"which is not an environment{guess} (environments: {', '.join(names)})")
        chain, current = [env["name"]], source
        while current is not None:
            if current in chain:
                cycle = " -> ".join(chain[chain.index(current):] + [current])
                raise ConfigError(f"{path}:{line}:{column}: promoteFrom makes a cycle ({cycle}); one environment "
                                  f"must be promoted from none")
            chain.append(current)
            current = envs[names[current]].get("promoteFrom") if current in names else None


def _check_exception_dates(document, path: Path) -> None:
    """An exception's `expires` must be a day that exists: 2020-02-30 would otherwise never expire."""
    from datetime import date

    for i, item in enumerate(document.data.get("exceptions") or []):
        try:
            date.fromisoformat(item["expires"])
        except ValueError:
            line, column = document.position(("exceptions", i, "expires"), key=False)
            raise ConfigError(f"{path}:{line}:{column}: exceptions[{i}].expires {item['expires']!r} is not a date that "
                              f"exists; write the last day the exception applies as YYYY-MM-DD, e.g. 2027-03-31") from None


def from_data(data: dict, path: Path | None = None) -> Config:
    argocd = data.get("argocd", {})
    return Config(
        path=path,
        raw=data,
        rules={rule: OFF if value is False else value for rule, value in data.get("rules", {}).items()},
        exclude=tuple(data.get("exclude", ())),
        max_file_bytes=data.get("maxFileBytes", DEFAULT_MAX_FILE_BYTES),
        repo_url=data.get("repoURL"),
        namespaces=frozenset(data.get("namespaces", ())),
        argocd_version=argocd.get("version", 3),
        require_resources_finalizer=argocd.get("requireResourcesFinalizer", False),
        argocd_config_map=argocd.get("configMap"),
        kubernetes_version=data.get("kubernetesVersion"),
        # Paths in the file are relative to the file, wherever wavegate runs from.
        schemas=tuple(str((path.parent / s).resolve()) if path else s for s in data.get("schemas", ())),
        policies=str((path.parent / data["policies"]).resolve()) if path and "policies" in data else data.get("policies"),
        environments=tuple(Environment(name=e["name"], path=e["path"].strip("/").removeprefix("./") or ".",
                                       promote_from=e.get("promoteFrom"), keep=tuple(e.get("keep", ())),
                                       gates=dict(e.get("gates") or {}), application=e.get("application"),
                                       protected=e.get("protected", False))
                           for e in data.get("environments", ())),
    )


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "top level"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        close = difflib.get_close_matches(extra[0], allowed, n=1) if extra else []
        guess = f"; did you mean {close[0]!r}?" if close else ""
        known = f" (known keys: {', '.join(allowed)})" if allowed else ""
        return f"unknown key {', '.join(map(repr, extra))} at {where}{guess}{known}"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not one of {', '.join(map(repr, error.validator_value))}"
    return f"{where}: {error.message}"


def repository_url(config: Config, root: Path, repo=None) -> str | None:
    """This repository's URL: config, else CI_PROJECT_URL, else `git remote get-url origin`, else
    catalog-info.yaml's `gitlab.com/project-slug` on the host of an Application's repoURL (when the
    loaded `repo` is given)."""
    if config.repo_url:
        return config.repo_url
    if os.environ.get("CI_PROJECT_URL"):
        return os.environ["CI_PROJECT_URL"]
    from wavegate.git import Git, GitError

    try:
        remote = Git(root, timeout=5).remote_url("origin")
    except GitError:  # git missing or not answering: no URL, as without a remote
        remote = None
    if remote:
        return remote
    return catalog_identity(repo) if repo is not None else None


PROJECT_SLUG = "gitlab.com/project-slug"


def catalog_identity(repo) -> str | None:
    """`https://<host>/<slug>` from a Backstage entity's gitlab.com/project-slug, with the host of
    the Applications of the repository (an Application that names the slug itself wins)."""
    from wavegate.argocd.application import Application, canonical_repo_url

    slugs = [m.annotations.get(PROJECT_SLUG) for m in repo.manifests if m.api_version.startswith("backstage.io/")]
    slugs = [s.strip("/") for s in slugs if isinstance(s, str) and s.strip("/") and "${{" not in s]
    if not slugs:
        return None
    urls = [source.repo_url for app in Application.all_in(repo) for source in app.sources if source.repo_url]
    for url in urls:
        if canonical_repo_url(url).split("/", 1)[-1].lower() == slugs[0].lower():
            return url
    hosts = [canonical_repo_url(url).split("/", 1)[0] for url in urls if "{{" not in url]
    return f"https://{hosts[0]}/{slugs[0]}" if hosts and hosts[0] else None
