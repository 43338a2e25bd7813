"""`wavegate schemas bundle DIR` and `wavegate schemas export --kubeconfig FILE DIR`.

Wired into the main parser by `wavegate.cli.build_parser` with `add_parser(commands)`.
Both write a kubeconform schema directory (see `wavegate.schemas.bundle` for the layouts).
Exit 0 on success, 2 on a usage problem (a missing --schemas path, a kind-suffix collision, an
unreachable cluster), each said in one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wavegate.errors import EXIT_OK, EXIT_USAGE
from wavegate.schemas import bundle


def add_parser(subparsers) -> argparse.ArgumentParser:
    schemas = subparsers.add_parser(
        "schemas", help="write the schema store, or a live cluster's schemas, as a kubeconform schema directory",
        description="Schema directories in kubeconform's layout: self-contained, strict JSON schemas, one per kind.")
    commands = schemas.add_subparsers(dest="schemas_command", metavar="COMMAND")
    layouts = ", ".join(f"{name} ({template})" for name, template in bundle.LAYOUTS.items())

    write = commands.add_parser(
        "bundle", help="write every kind wavegate knows (Kubernetes, Argo CD, Backstage, kro, --schemas) into DIR",
        description="Write the whole schema store (Kubernetes' built-in kinds for --kubernetes-version, the shipped "
                    "Argo CD, Backstage and kro schemas, and every CRD, ResourceGraphDefinition or bundle given "
                    "with --schemas) into DIR as strict JSON schemas kubeconform finds.",
        epilog="Example:\n  wavegate schemas bundle schemas/ --schemas platform/rgds/\n"
               "  kubeconform -strict -schema-location 'schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json' manifests/\n\n"
               f"Layouts: {layouts}.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    write.add_argument("directory", type=Path, metavar="DIR", help="directory to write (created if missing)")
    write.add_argument("--kubernetes-version", metavar="V", help="Kubernetes version of the built-in kinds")
    write.add_argument("--schemas", action="append", default=[], type=Path, metavar="PATH",
                       help="CRD, ResourceGraphDefinition or schema-bundle file or directory (repeatable)")
    _layout_option(write)
    write.set_defaults(handler=cmd_bundle)

    export = commands.add_parser(
        "export", help="write a live cluster's schemas (/openapi/v3) into DIR",
        description="Read the cluster's /openapi/v3 (every group-version, built-in kinds and served CRDs) and write "
                    "each kind as a self-contained strict JSON schema into DIR, to pin a cluster's exact schemas: "
                    "`wavegate validate --schemas DIR` and kubeconform both read it. Only GET requests are sent.",
        epilog="Example:\n  wavegate schemas export --kubeconfig ~/.kube/config --context prod schemas/prod/",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    export.add_argument("directory", type=Path, metavar="DIR", help="directory to write (created if missing)")
    export.add_argument("--kubeconfig", type=Path, metavar="FILE", help="kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
    export.add_argument("--context", metavar="NAME", help="kubeconfig context (default: its current context)")
    _layout_option(export)
    export.set_defaults(handler=cmd_export)
    schemas.set_defaults(handler=lambda args: (schemas.print_help(), EXIT_USAGE)[1])
    return schemas


def _layout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layout", choices=tuple(bundle.LAYOUTS), default=bundle.KIND_SUFFIX,
                        help="file naming: kind-suffix (kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}.json, the "
                             "default) or group ({{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json, for "
                             "groups that share a first label)")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _fail(message: str) -> int:
    print(f"wavegate: {message}", file=sys.stderr)
    return EXIT_USAGE


def cmd_bundle(args) -> int:
    from wavegate.config import Config
    from wavegate.schemas.store import SchemaSourceError, SchemaStore

    try:
        store = SchemaStore.build(None, Config(), extra_paths=args.schemas, kubernetes_version=args.kubernetes_version)
    except SchemaSourceError as error:
        return _fail(str(error))
    for problem in store.load_problems:
        print(f"wavegate: {problem.path}:{problem.line}: {problem.message}", file=sys.stderr)
    try:
        written = bundle.write_bundle(store, args.directory, layout=args.layout)
    except bundle.BundleCollision as error:
        return _fail(str(error))
    except OSError as error:
        return _fail(f"cannot write {args.directory}: {error.strerror or error}")
    unavailable = [e for e in store.entries.values() if e.unavailable]
    for entry in unavailable:
        print(f"wavegate: {entry.kind} {entry.api_version} is not in the bundle: {entry.unavailable} ({entry.source})",
              file=sys.stderr)
    print(f"wrote {len(written)} schemas to {args.directory} "
          f"(kubeconform -schema-location '{args.directory}/{bundle.LAYOUTS[args.layout]}')")
    return EXIT_OK


def cmd_export(args) -> int:
    from wavegate.cluster.base import ClusterError
    from wavegate.cluster.kubeconfig import KubeconfigCluster
    from wavegate.schemas.export import ExportError, export

    cluster = KubeconfigCluster(context=args.context, kubeconfig=args.kubeconfig)
    try:
        with cluster:
            written = export(cluster, args.directory, layout=args.layout)
    except (ClusterError, ExportError, bundle.BundleCollision) as error:
        return _fail(str(error))
    except OSError as error:
        return _fail(f"cannot write {args.directory}: {error.strerror or error}")
    print(f"wrote {len(written)} schemas from {cluster.name} to {args.directory} "
          f"(kubeconform -schema-location '{args.directory}/{bundle.LAYOUTS[args.layout]}')")
    return EXIT_OK
