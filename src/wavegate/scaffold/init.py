"""`wavegate init`: render the golden-path skeleton locally, exactly as Backstage's fetch:template does.

The values file uses the names the Backstage template passes to its skeleton (`appname`,
`namespace`, `aws_region`, ...). Every value is checked before anything is written, and every
problem is reported (one line each), so a repository is never generated half right.

The skeletons have one source, `templates/backstage/` of the wavegate repository. The package
reaches them through `wavegate/scaffold/templates/`, whose entries are symbolic links into
`templates/`; building an sdist or a wheel copies the files behind the links, so an installed
wavegate carries the same files (see `templates_root`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path

from wavegate.load import read_yaml
from wavegate.record import record
from wavegate.regex import lazy_compile
from wavegate.scaffold.render import RenderError, render_tree

VARIANTS = {"single": "skeleton", "environments": "skeleton-environments"}
TEMPLATE_FILE = "template-cicd-pipeline-gitops.yaml"

AWS_REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2",
               "eu-central-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1")

_DNS_LABEL = lazy_compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HOST = lazy_compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$")
_CLUSTER = lazy_compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$")
_GIT_NAMESPACE = lazy_compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]*(/[a-zA-Z0-9_][a-zA-Z0-9_.-]*)*$")
_DOCKERFILE_PATH = lazy_compile(r"^\.(/[a-zA-Z0-9_.-]+)*$")
_DEPLOYMENT_PATH = lazy_compile(r"^\./[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)*$")
_ENTITY_NAME = lazy_compile(r"^[a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$")
_ACCOUNT = lazy_compile(r"^[0-9]{12}$")
# The longest name derived from appname is `<appname>-cicd-pipeline` (the catalog entity and the
# CICDPipeline): Backstage entity names and Kubernetes labels stop at 63 characters.
APPNAME_MAX = 63 - len("-cicd-pipeline")


@record(frozen=True)
class Value:
    name: str
    check: Callable[[str], str | None]  # the problem with a value, or None
    default: str | None = None
    help: str = ""


def _pattern(regex: re.Pattern, what: str, max_length: int | None = None) -> Callable[[str], str | None]:
    def check(text: str) -> str | None:
        if max_length is not None and len(text) > max_length:
            return f"{text!r} is {len(text)} characters long; at most {max_length} are allowed ({what})"
        if not regex.match(text):
            return f"{text!r} is not {what}"
        return None
    return check


def _host(text: str) -> str | None:
    if "://" in text:
        return f"{text!r} has a scheme; write the host name only, e.g. {text.split('://', 1)[1].split('/')[0]!r}"
    if "/" in text:
        return f"{text!r} has a path; write the host name only, e.g. {text.split('/')[0]!r}"
    if not _HOST.match(text):
        return f"{text!r} is not a host name (lowercase letters, digits, '-' and '.', optionally ':port')"
    return None


def _region(text: str) -> str | None:
    if text in AWS_REGIONS:
        return None
    close = difflib.get_close_matches(text, AWS_REGIONS, n=1)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    return f"{text!r} is not one of the supported regions ({', '.join(AWS_REGIONS)}){guess}"


VALUES = (
    Value("appname", _pattern(_DNS_LABEL, "a DNS-1123 label (lowercase letters, digits and '-', "
                                          "starting and ending with a letter or digit)", APPNAME_MAX)),
    Value("namespace", _pattern(_DNS_LABEL, "a DNS-1123 label", 63), default="team-{appname}"),
    Value("aws_region", _region),
    Value("aws_account_id", _pattern(_ACCOUNT, "a 12-digit AWS account id")),
    Value("gitlab_hostname", _host),
    Value("argocd_hostname", _host),
    Value("git_username", _pattern(_GIT_NAMESPACE, "a GitLab user or group path")),
    Value("cluster_name", _pattern(_CLUSTER, "an EKS cluster name (letters, digits and '-')", 100)),
    Value("aws_resource_prefix", _pattern(_DNS_LABEL, "a lowercase prefix (letters, digits and '-')", 20),
          default="peeks"),
    Value("dockerfile_path", _pattern(_DOCKERFILE_PATH, "'.' or a relative path starting with './'")),
    Value("deployment_path", _pattern(_DEPLOYMENT_PATH, "a relative path starting with './', e.g. './deployment'")),
    Value("created_by", _pattern(_ENTITY_NAME, "a Backstage user name", 63), default="unknown"),
)
VALUE_NAMES = tuple(v.name for v in VALUES)


class InitError(Exception):
    """Problems with the values or the target; each line of `problems` is one thing to fix."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def templates_root() -> Path:
    """The directory holding `backstage/`, `kro/` and `argocd/`: the installed copy, else the checkout."""
    packaged = Path(__file__).parent / "templates"
    if (packaged / "backstage" / TEMPLATE_FILE).is_file():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "templates"
    if (checkout / "backstage" / TEMPLATE_FILE).is_file():
        return checkout
    raise InitError([f"the Backstage templates are missing from this wavegate installation ({packaged}); reinstall wavegate"])


def skeleton_dir(variant: str = "single") -> Path:
    if variant not in VARIANTS:
        raise InitError([f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}"])
    return templates_root() / "backstage" / VARIANTS[variant]


def template_path() -> Path:
    return templates_root() / "backstage" / TEMPLATE_FILE


def read_values(path: Path) -> dict[str, str]:
    """The values of a values file, checked; raises InitError listing every problem."""
    if not path.is_file():
        raise InitError([f"{path}: no such values file"])
    documents, problems = read_yaml(path, rel=str(path))
    if problems:
        raise InitError([f"{p.path}:{p.line}:{p.column}: {p.message}" for p in problems])
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise InitError([f"{path}: must hold one mapping of value names to values"])
    document = documents[0]
    data = document.data
    # A values file copied from the Backstage step may keep its `values:` wrapper.
    prefix: tuple[str, ...]
    if set(data) == {"values"} and isinstance(data["values"], dict):
        data, prefix = data["values"], ("values",)
    else:
        prefix = ()

    def where(key, value: bool = True) -> str:
        line, column = document.position(prefix + (key,), key=not value)
        return f"{path}:{line}:{column}"

    errors: list[str] = []
    for key in data:
        if key not in VALUE_NAMES:
            close = difflib.get_close_matches(str(key), VALUE_NAMES, n=1)
            guess = f"; did you mean {close[0]!r}?" if close else ""
            errors.append(f"{where(key, value=False)}: unknown value {key!r}{guess} (known: {', '.join(VALUE_NAMES)})")
    values: dict[str, str] = {}
    for spec in VALUES:
        if spec.name not in data or data[spec.name] is None or data[spec.name] == "":
            if spec.default is not None:
                continue
            errors.append(f"{path}: {spec.name} is missing; it is required")
            continue
        raw = data[spec.name]
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            errors.append(f"{where(spec.name)}: {spec.name} must be a string, not a YAML {type(raw).__name__}")
            continue
        if isinstance(raw, int) and spec.name != "aws_account_id":
            raw = str(raw)
        if isinstance(raw, int):  # an unquoted account id: leading zeros are already lost
            text = str(raw)
            if len(text) != 12:
                errors.append(f"{where(spec.name)}: aws_account_id {raw} is a YAML number of {len(text)} digits; "
                              "write the 12 digits as a quoted string, e.g. \"012345678901\"")
                continue
            raw = text
        problem = spec.check(raw)
        if problem:
            errors.append(f"{where(spec.name)}: {spec.name}: {problem}")
        else:
            values[spec.name] = raw
    if errors:
        raise InitError(errors)
    for spec in VALUES:
        if spec.name not in values and spec.default is not None:
            values[spec.name] = spec.default.format(**values)
    problem = VALUES[1].check(values["namespace"])
    if problem:
        raise InitError([f"{path}: namespace (derived from appname): {problem}"])
    return values


def init(target: Path, values: dict[str, str], variant: str = "single", force: bool = False) -> list[Path]:
    """Render the skeleton of `variant` into `target` with `values`; returns the files written."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise InitError([f"{target}: exists and is not a directory"])
    if target.is_dir() and any(target.iterdir()) and not force:
        raise InitError([f"{target}: is not empty; choose an empty or new directory, or pass --force to overwrite files"])
    source = skeleton_dir(variant)
    try:
        return render_tree(source, target, {"values": dict(values)})
    except RenderError as error:  # a skeleton defect, not a user mistake; say which file
        raise InitError([f"the {variant} skeleton cannot be rendered: {error}"]) from None
