"""`wavegate adopt`: the command line of the migration (phase 2) of existing CICDPipelines.

wavegate.cli wires it with `add_parser(commands)`. Until then (and for tests) it also runs on its
own: `python -m wavegate.scaffold.adopt_cli adopt NAME --out DIR ...`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wavegate.errors import EXIT_FINDINGS as EXIT_FAILED  # the cluster or GitLab could not be read or written
from wavegate.errors import EXIT_OK, EXIT_USAGE
from wavegate.kube import KRO_GROUP


def add_parser(subparsers) -> argparse.ArgumentParser:
    adopt = subparsers.add_parser(
        "adopt", help="write GitOps repositories for CICDPipelines that already exist in a cluster",
        description="Read CICDPipeline instances from a cluster (read only), strip what the server and kro own, "
                    "and write one golden-path repository per instance whose manifests say exactly what the "
                    "cluster has, so that Argo CD takes the objects over in place (nothing deleted or "
                    "re-created). Exit 0 when written, 1 when the cluster or GitLab failed, 2 on bad input.",
        epilog="The cluster tells appname, namespace, the AWS, application and GitLab fields; --values "
               "supplies the rest, e.g.\n  argocd_hostname: argocd.example.com\n  created_by: jane\n\n"
               "  wavegate adopt web-cicd-pipeline -n team-web --out web-cicd --values values.yaml\n"
               "  wavegate adopt --all --out adopted/ --values values.yaml\n"
               "  wavegate adopt web-cicd-pipeline -n team-web --out web-cicd --values values.yaml \\\n"
               "      --publish --gitlab-url https://gitlab.example.com   # token: GITLAB_TOKEN",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    adopt.add_argument("name", nargs="?", metavar="NAME", help="the instance to adopt (or --all)")
    adopt.add_argument("--all", dest="all_", action="store_true",
                       help="every instance in --namespace, or in every namespace; one repository each in DIR/<name>")
    adopt.add_argument("-n", "--namespace", help="the instances' namespace (default: NAME is searched in every "
                                                 "namespace; --all takes every namespace)")
    adopt.add_argument("--out", type=Path, metavar="DIR", help="directory to write (new or empty)")
    adopt.add_argument("--values", type=Path, metavar="FILE",
                       help="YAML file of the values the cluster cannot tell (argocd_hostname, created_by, ...)")
    adopt.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    adopt.add_argument("--context", help="kubeconfig context (default: its current context)")
    adopt.add_argument("--group", default=KRO_GROUP, help=f"API group of the kind to adopt (default: {KRO_GROUP})")
    adopt.add_argument("--kind", default="CICDPipeline", help="kind to adopt (default: CICDPipeline)")
    adopt.add_argument("--exact-metadata", action="store_true",
                       help="write the live labels and annotations only: no golden-path sync-wave, labels or "
                            "Delete=false are added, so the first sync changes nothing at all")
    adopt.add_argument("--force", action="store_true", help="write into a non-empty DIR, overwriting files")
    adopt.add_argument("--publish", action="store_true",
                       help="create the GitLab project <git_username>/<appname>-cicd and push the repository")
    adopt.add_argument("--gitlab-project", metavar="GROUP/NAME",
                       help="the project to create; must be <git_username>/<appname>-cicd, which the "
                            "repository's files point at (a check, for scripts)")
    adopt.add_argument("--gitlab-url", help="GitLab server (default: CI_SERVER_URL, else https://<gitlab_hostname>)")
    adopt.add_argument("--push-url", help=argparse.SUPPRESS)  # tests: a bare repository stands in for GitLab
    # SUPPRESS: `wavegate --debug adopt ...` (the global flag) must not be reset by this one.
    adopt.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    adopt.set_defaults(handler=cmd_adopt)
    return adopt


def cmd_adopt(args) -> int:
    from wavegate.cluster import ClusterError, open_cluster
    from wavegate.scaffold.adopt import AdoptError, adopt, read_extra_values, summary

    problems = []
    if bool(args.name) == bool(args.all_):
        problems.append("adopt needs NAME or --all (not both); see `wavegate adopt --help`")
    if args.out is None:
        problems.append("adopt needs --out DIR")
    if args.gitlab_project and not args.publish:
        problems.append("--gitlab-project needs --publish")
    if problems:
        return _fail(problems, EXIT_USAGE)
    try:
        extra = read_extra_values(args.values) if args.values else {}
    except AdoptError as error:
        return _fail(error.problems, EXIT_USAGE)
    try:
        with open_cluster("kubeconfig", kubeconfig=args.kubeconfig, context=args.context) as cluster:
            with cluster.reader() as read:
                results = adopt(read, args.out, name=args.name, namespace=args.namespace, all_=args.all_,
                                extra=extra, group=args.group, kind=args.kind,
                                exact_metadata=args.exact_metadata, force=args.force)
    except ClusterError as error:
        return _fail([str(error)], EXIT_FAILED)
    except AdoptError as error:
        return _fail(error.problems, EXIT_USAGE)
    except Exception as error:  # the API server or the network; one line unless --debug
        if getattr(args, "debug", False):
            raise
        return _fail([f"talking to the cluster failed: {type(error).__name__}: {' '.join(str(error).split())[:300]}"],
                     EXIT_FAILED)
    for result in results:
        print(summary(result))
    if not args.publish:
        for result in results:
            print(f"next: `wavegate validate {result.target}`, then push it to "
                  f"https://{result.values['gitlab_hostname']}/{result.values['git_username']}/"
                  f"{result.values['appname']}-cicd and create the Application from argocd/application.yaml")
        return EXIT_OK
    return _publish(args, results)


def _publish(args, results) -> int:
    import os

    from wavegate.gitlab import GitLab, GitLabError
    from wavegate.scaffold.adopt import AdoptError, publish

    failed = []
    for result in results:
        gitlab = None
        try:
            if not args.push_url or args.gitlab_url:
                url = args.gitlab_url or os.environ.get("CI_SERVER_URL") or f"https://{result.values['gitlab_hostname']}"
                gitlab = GitLab.from_env(url=url)
            pushed = publish(result.target, result.values, gitlab=gitlab, project=args.gitlab_project,
                             push_url=args.push_url)
        except GitLabError as error:
            failed.append(f"{result.namespace}/{result.name}: {error}")
            continue
        except AdoptError as error:
            failed += [f"{result.namespace}/{result.name}: {p}" for p in error.problems]
            continue
        print(f"published {result.target} to {pushed}; next: create the Application from argocd/application.yaml")
    return _fail(failed, EXIT_FAILED) if failed else EXIT_OK


def _fail(problems: list[str], code: int) -> int:
    for problem in problems:
        print(f"wavegate adopt: {problem}", file=sys.stderr)
    return code
