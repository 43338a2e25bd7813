""".wavegate.yaml: read through the one loader, validated against the shipped JSON schema."""

from __future__ import annotations

import difflib
import json
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from wavegate import data
from wavegate.errors import ConfigError
from wavegate.findings import Severity
from wavegate.load import DEFAULT_MAX_FILE_BYTES, Limits, read_yaml
from wavegate.record import field, record

if TYPE_CHECKING:
    import jsonschema

CONFIG_NAME = ".wavegate.yaml"
OFF = "off"




@record
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
    environments: tuple[Environment, ...] = ()
    clusters: tuple[dict, ...] = ()  # Argo CD's clusters, for the ApplicationSet clusters generator

    def environment(self, name: str) -> Environment:
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


@record(frozen=True)
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
    return json.loads(data.read_text("config.schema.json"))


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
        if first.rule == "yaml-not-a-mapping":  # a list or a bare value where settings belong
            raise ConfigError(f"{first.path}:{first.line}:{first.column}: the configuration is not a mapping of "
                              "settings; write keys such as `rules:` and `exclude:` at the top level")
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
            extra = sorted(set(error.instance) - set(_declared_properties(error)))
            where += tuple(extra[:1])  # point at the unknown key itself
        line, column = document.position(where)
        raise ConfigError(f"{path}:{line}:{column}: {_describe(error)}")
    _check_environments(document, path)
    _check_exception_dates(document, path)
    _check_rules(document, path)
    _check_paths(document, path)
    return from_data(document.data, path)


def _check_rules(document, path: Path) -> None:
    """Every id under `rules:` names a rule of the catalog that a repository may configure."""
    settings = document.data.get("rules") or {}
    if not settings:
        return
    from wavegate.rules import all_rules

    catalog = {rule.id: rule for rule in all_rules()}
    for rule_id in settings:
        line, column = document.position(("rules", rule_id))
        rule = catalog.get(rule_id)
        if rule is None:
            close = difflib.get_close_matches(rule_id, list(catalog), n=1)
            guess = f"; did you mean {close[0]!r}?" if close else "; `wavegate rules` lists them"
            raise ConfigError(f"{path}:{line}:{column}: rules: there is no rule {rule_id!r}{guess}")
        if not rule.configurable:
            raise ConfigError(f"{path}:{line}:{column}: rules: {rule_id} cannot be changed or turned off in "
                              f"{path.name} (the policies a repository is held to); remove it, and ask the policy "
                              "owners for an exception (`exceptions:`, with approvedBy and expires) where one is due")


def _check_paths(document, path: Path) -> None:
    """What the schema cannot say about paths: argocd.configMap exists; exclude patterns can match."""
    config_map = (document.data.get("argocd") or {}).get("configMap")
    if config_map is not None and not (path.parent / config_map).is_file():
        line, column = document.position(("argocd", "configMap"), key=False)
        raise ConfigError(f"{path}:{line}:{column}: argocd.configMap: {config_map!r} is not a file (paths are "
                          f"relative to {path.name}); point it at the argocd-cm ConfigMap's YAML file")
    for i, pattern in enumerate(document.data.get("exclude") or ()):
        why = _never_matches(pattern)
        if why:
            line, column = document.position(("exclude", i), key=False)
            raise ConfigError(f"{path}:{line}:{column}: exclude: {pattern!r} can never match: {why}")


def _never_matches(pattern: str) -> str:
    """Why an exclude pattern can match no repository path (they are relative and `/`-separated), or ""."""
    if "\\" in pattern:
        return f"paths are separated by '/'; write {pattern.replace(chr(92), '/')!r}"
    parts = pattern.rstrip("/").split("/")
    if pattern.startswith("/"):
        return f"paths are relative to the repository root; write {pattern.lstrip('/')!r}"
    if ".." in parts:
        return "paths never leave the repository"
    if "." in parts or "" in parts:
        fixed = "/".join(p for p in parts if p not in (".", "")) + ("/" if pattern.endswith("/") else "")
        return f"paths have no '.' or empty parts; write {fixed!r}"
    return ""


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
        clusters=tuple(dict(c) for c in data.get("clusters", ())),
    )


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "top level"
    if error.validator == "additionalProperties":
        allowed = sorted(_declared_properties(error))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        close = difflib.get_close_matches(extra[0], allowed, n=1) if extra else []
        guess = f"; did you mean {close[0]!r}?" if close else ""
        known = f" (known keys: {', '.join(allowed)})" if allowed else ""
        return f"unknown key {', '.join(map(repr, extra))} at {where}{guess}{known}"
    if error.validator == "enum":
        choices = error.validator_value if isinstance(error.validator_value, list) else []
        return f"{where}: {error.instance!r} is not one of {', '.join(map(repr, choices))}"
    return f"{where}: {error.message}"


def _declared_properties(error: jsonschema.ValidationError) -> dict:
    """The properties the failing (sub)schema declares; {} when it is a boolean schema."""
    return error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}


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
