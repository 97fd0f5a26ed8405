#!/usr/bin/env python3
"""k8s-schemas.py — JSON schemas for kubeconform, made from Kubernetes' own OpenAPI document and
from CustomResourceDefinitions, so the chart's rendered objects are validated offline.

Usage: k8s-schemas.py OUT_DIR SWAGGER_JSON [CRD_JSON ...]

Writes OUT_DIR/<kind><suffix>.json in kubeconform's naming ({{ .ResourceKind }}{{ .KindSuffix }}:
deployment-apps-v1.json, service-v1.json, servicemonitor-monitoring-v1.json), the way
yannh/kubernetes-json-schema's "standalone-strict" schemas are made:
  - standalone: every $ref is inlined (a type that contains itself is cut to {} at the repeat);
  - strict: every object schema with properties refuses unknown ones (additionalProperties:
    false), which is what catches a misspelt field that the API server would silently drop;
  - int-or-string fields accept an integer or a string, and a resource.Quantity a number or a
    string, as the API server does;
  - apiVersion and kind must be the ones of the schema.
Standard library only.
"""

import json
import os
import sys

INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
QUANTITY = {"oneOf": [{"type": "string"}, {"type": "number"}]}
QUANTITY_REF = "io.k8s.apimachinery.pkg.api.resource.Quantity"


def kind_suffix(group, version):
    """kubeconform's KindSuffix: -<first label of the group>-<version>, or -<version> for core."""
    if not group:
        return "-" + version.lower()
    return "-" + group.split(".")[0].lower() + "-" + version.lower()


def strict(node):
    """Recursively: additionalProperties false where properties are listed; int-or-string.
    Descriptions are dropped (they are most of the size); a *field* named description stays."""
    if isinstance(node, list):
        return [strict(x) for x in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "int-or-string" or node.get("x-kubernetes-int-or-string"):
        return dict(INT_OR_STRING)
    out = {}
    for k, v in node.items():
        if k == "properties" and isinstance(v, dict):
            out[k] = {name: strict(field) for name, field in v.items()}
        elif k != "description" or not isinstance(v, str):
            out[k] = strict(v)
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def inline(node, definitions, stack):
    """Replaces every {"$ref": "#/definitions/X"} by X, inlined; cycles become {}."""
    if isinstance(node, list):
        return [inline(x, definitions, stack) for x in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):  # (JSONSchemaProps has a *property* named $ref: not a reference)
        name = ref.rsplit("/", 1)[-1]
        if name == QUANTITY_REF:
            return dict(QUANTITY)
        if name in stack:
            return {}
        return inline(definitions[name], definitions, stack | {name})
    return {k: inline(v, definitions, stack) for k, v in node.items()}


def pin_gvk(schema, group, version, kind):
    props = schema.setdefault("properties", {})
    api_version = f"{group}/{version}" if group else version
    props["apiVersion"] = {"type": "string", "enum": [api_version]}
    props["kind"] = {"type": "string", "enum": [kind]}
    return schema


def write(out_dir, group, version, kind, schema):
    schema = dict(schema)
    schema["$schema"] = "http://json-schema.org/schema#"
    path = os.path.join(out_dir, kind.lower() + kind_suffix(group, version) + ".json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(schema, f, separators=(",", ":"), sort_keys=True)
    return path


def from_swagger(out_dir, swagger_path):
    with open(swagger_path, encoding="utf-8") as f:
        definitions = json.load(f)["definitions"]
    n = 0
    for name, definition in definitions.items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            # Only the top-level object types (they have apiVersion, kind and metadata); list
            # and option types share the annotation but are not what a chart renders.
            if "metadata" not in definition.get("properties", {}):
                continue
            schema = strict(inline(definition, definitions, {name}))
            pin_gvk(schema, gvk["group"], gvk["version"], gvk["kind"])
            write(out_dir, gvk["group"], gvk["version"], gvk["kind"], schema)
            n += 1
    if n < 50:
        sys.exit(f"k8s-schemas.py: only {n} object types in {swagger_path}: not a Kubernetes spec?")
    return n


def from_crd(out_dir, crd_path):
    with open(crd_path, encoding="utf-8") as f:
        crd = json.load(f)
    if crd.get("kind") != "CustomResourceDefinition":
        sys.exit(f"k8s-schemas.py: {crd_path} is not a CustomResourceDefinition")
    spec = crd["spec"]
    n = 0
    for version in spec["versions"]:
        schema = strict(version["schema"]["openAPIV3Schema"])
        pin_gvk(schema, spec["group"], version["name"], spec["names"]["kind"])
        write(out_dir, spec["group"], version["name"], spec["names"]["kind"], schema)
        n += 1
    return n


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__.split("\n\n", 2)[1])
    out_dir, swagger, crds = argv[1], argv[2], argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    n = from_swagger(out_dir, swagger)
    for crd in crds:
        n += from_crd(out_dir, crd)
    print(f"k8s-schemas.py: {n} schemas in {out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
