"""Kro offline: SimpleSchema -> OpenAPI, RGD -> the instance CRD kro generates, the resource graph.

Public API (used by the schema store and the kro validator):

* `crd_for_rgd(rgd_data) -> dict` - the CRD kro generates for an RGD, shaped as the API server
  returns it; `synthesize(rgd_data)` - the same with what had to be approximated offline.
* `rgd_group_kind(rgd_data) -> (group, version, kind)`.
* `SimpleSchemaError` - raised for anything that stops kro (or the API server) from creating the
  CRD; it carries the YAML path of the offending key (`.path`, `.field`) and kro's message.
* `to_openapi(spec, types)` - the instance `.spec` schema alone.
"""

from wavegate.kro.crd import KRO_GROUP, Synthesis, crd_for_rgd, rgd_group_kind, synthesize
from wavegate.kro.plural import kind_plural, pluralize
from wavegate.kro.simpleschema import SimpleSchemaError, to_openapi

__all__ = ["KRO_GROUP", "SimpleSchemaError", "Synthesis", "crd_for_rgd", "kind_plural", "pluralize",
           "rgd_group_kind", "synthesize", "to_openapi"]
