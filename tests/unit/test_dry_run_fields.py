"""Where a dry-run finding points: the field the API server names in its answer."""

from wavegate.dryrun.run import field_in, field_path
from wavegate.dryrun.server import Outcome


def test_a_list_index_and_a_map_key_in_the_servers_field_are_followed_to_the_line():
    assert field_path(Outcome(applied=False, message='Deployment.apps "web" is invalid: '
                              'spec.template.spec.containers[0].image: Required value')) == \
        ("spec", "template", "spec", "containers", 0, "image")
    # Deprecation warnings name a map key in brackets; the key holds dots and a slash.
    assert field_path(Outcome(applied=True, message="spec.template.spec.nodeSelector[beta.kubernetes.io/os]: "
                              'deprecated since v1.14; use "kubernetes.io/os" instead')) == \
        ("spec", "template", "spec", "nodeSelector", "beta.kubernetes.io/os")


def test_a_message_naming_no_field_points_at_the_object():
    assert field_path(Outcome(applied=False, message="the server could not find the requested resource")) == ()


def test_a_server_warning_names_its_field_too():
    assert field_in('metadata.finalizers: "example.com": prefer a domain-qualified finalizer name') == \
        ("metadata", "finalizers")
    assert field_in("unknown field ignored") == ()
