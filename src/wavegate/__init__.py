"""wavegate: the merge-request gate for GitOps on Kubernetes."""

__version__ = "0.1.0"
