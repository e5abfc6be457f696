"""The FHIR R4 invariants (ElementDefinition.constraint) and required bindings, with fhirpathpy.

The definitions are the committed extract `definitions/r4.json` (tools/fhir_r4_extract.py;
docs/fhir.md, "Invariants"). Each constraint is evaluated at each node of its element, with
`%resource` and `%rootResource` set (a Bundle entry's resource is its own root; a contained
resource has its container as root). Pass means the expression gives `[true]`; an empty result
fails, as in the HL7 validator.

fhirpathpy 2.2.4 needs help, which is given here:
- it lacks `hasValue()` (ele-1, per-1, bdl-10, age-1) and `htmlChecks()` (txt-1, txt-2; not
  FHIRPath): both are user functions;
- its `trace()` prints to stdout (ref-1, dom-3 use it): a silent one replaces it;
- it refuses the published R4 dom-3 (`as()` on a collection): `ofType()` is used, as in R4B;
- as published, ref-1, bdl-8, cpb-0 and tim-9 give an empty (failing) result in common valid
  cases; they are rewritten the way the HL7 Java validator does (`FHIRPathExpressionFixer`),
  and dom-6 applies to the root resource only.
Run the model library first: fhirpathpy's `descendants()` fails on elements unknown to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from fhirpathpy import apply_parsed_path
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models
from fhirpathpy.parser import parse

R4_MODEL = models["r4"]
PRIMITIVES = frozenset(
    {
        "base64Binary",
        "boolean",
        "canonical",
        "code",
        "date",
        "dateTime",
        "decimal",
        "id",
        "instant",
        "integer",
        "markdown",
        "oid",
        "positiveInt",
        "string",
        "time",
        "unsignedInt",
        "uri",
        "url",
        "uuid",
        "xhtml",
    }
)
_REF_1 = (
    "reference.startsWith('#').not() or (reference.substring(1).trace('url') in"
    " %rootResource.contained.id.trace('ids'))"
)
_DOM_3 = (
    "contained.where((('#'+id in (%resource.descendants().reference |"
    " %resource.descendants().as(canonical) | %resource.descendants().as(uri) |"
    " %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or"
    " descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) ="
    " '#').exists()).not()).trace('unmatched', id).empty()"
)
_TIM_9 = "offset.empty() or (when.exists() and ((when in ('C' | 'CM' | 'CD' | 'CV')).not()))"
FIXUPS: dict[str, str] = {
    _REF_1: f"reference.exists() implies (reference = '#' or ({_REF_1}))",
    "fullUrl.contains('/_history/').not()": (
        "fullUrl.exists() implies fullUrl.contains('/_history/').not()"
    ),
    "fullUrl.exists() implies fullUrl.contains('/_history/').not()": (
        "fullUrl.exists() implies fullUrl.contains('/_history/').not()"
    ),
    "name.matches('[A-Z]([A-Za-z0-9_]){0,254}')": (
        "name.exists() implies name.matches('[A-Z]([A-Za-z0-9_]){0,254}')"
    ),
    _TIM_9: (
        "offset.empty() or (when.exists() and when.select($this in ('C' | 'CM' | 'CD' |"
        " 'CV')).allFalse())"
    ),
    _DOM_3: _DOM_3.replace("descendants().as(", "descendants().ofType("),
}
KEY_FIXUPS = {"dom-6": "(%rootResource != $this) or text.`div`.exists()"}
GENERIC_PRIMITIVE_RULES = frozenset({"ele-1", "ext-1"})  # the model library checks primitives


def _has_value(inputs: list[Any]) -> list[bool]:
    return [len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], dict | list)]


def _html_checks(inputs: list[Any]) -> list[bool]:
    """A minimal stand-in for the validator's XHTML checks: a <div> in the XHTML namespace."""
    return [
        all(
            isinstance(d, str)
            and d.lstrip().startswith("<div")
            and 'xmlns="http://www.w3.org/1999/xhtml"' in d
            for d in inputs
        )
    ]


def _silent_trace(inputs: list[Any], *_: Any) -> list[Any]:
    return inputs


OPTIONS: dict[str, Any] = {
    "userInvocationTable": {
        "hasValue": {"fn": _has_value, "arity": {0: []}},
        "htmlChecks": {"fn": _html_checks, "arity": {0: []}},
        "trace": {"fn": _silent_trace, "arity": {0: [], 1: ["String"], 2: ["String", "Expr"]}},
    },
    "traceFn": lambda *_: None,
}


@dataclass(frozen=True, slots=True)
class Violation:
    """A failed invariant (`key` e.g. qty-3) or required binding (`key` = `binding`)."""

    key: str
    severity: str  # error | warning
    message: str
    location: str  # e.g. Bundle.entry[17].resource.valueQuantity
    evaluation_error: str | None = None


@dataclass(frozen=True, slots=True)
class _Env:
    variables: dict[str, Any]


@lru_cache(maxsize=4096)
def _parsed(expression: str) -> Any:
    return parse(expression)  # type: ignore[no-untyped-call]


@cache
def definitions() -> dict[str, Any]:
    """The committed extract (types, value sets, code systems, provenance)."""
    text = resources.files("app.interop.fhir").joinpath("definitions/r4.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


class InvariantValidator:
    def __init__(self, extract: Mapping[str, Any]) -> None:
        self.types: dict[str, Any] = extract["types"]
        self.value_sets = {url: frozenset(codes) for url, codes in extract["valueSets"].items()}

    def validate(self, resource: Mapping[str, Any], location: str | None = None) -> list[Violation]:
        """Every violation in `resource` (FHIR JSON), errors and warnings."""
        found: list[Violation] = []
        self._resource(resource, location or str(resource.get("resourceType")), None, found)
        return found

    def errors(self, resource: Mapping[str, Any], location: str | None = None) -> list[Violation]:
        return [v for v in self.validate(resource, location) if v.severity == "error"]

    # --- walking -------------------------------------------------------------------------------

    def _resource(
        self, res: Mapping[str, Any], loc: str, root: Mapping[str, Any] | None, out: list[Violation]
    ) -> None:
        kind = res.get("resourceType")
        sd = self.types.get(str(kind))
        if sd is None or sd["kind"] != "resource":
            out.append(Violation("unknown-type", "error", f"unsupported resource type {kind}", loc))
            return
        env = _Env({"resource": res, "rootResource": root if root is not None else res})
        self._element(res, sd, str(kind), loc, env, out, inherited=())
        for i, contained in enumerate(res.get("contained") or ()):
            if isinstance(contained, Mapping):
                self._resource(contained, f"{loc}.contained[{i}]", res, out)

    def _element(
        self,
        node: Any,
        sd: Mapping[str, Any],
        path: str,
        loc: str,
        env: _Env,
        out: list[Violation],
        inherited: tuple[Mapping[str, Any], ...],
    ) -> None:
        element = sd["elements"].get(path, {"constraints": []})
        seen: set[str] = set()
        for constraint in (*element["constraints"], *inherited):
            if constraint["key"] not in seen:
                seen.add(constraint["key"])
                self._check(node, path, constraint, loc, env, out)
        if not isinstance(node, Mapping):
            return
        for key, value in node.items():
            if key == "resourceType" or key.startswith("_"):
                continue
            if key == "contained" and "resourceType" in node:
                continue  # walked as resources of their own
            child, type_code = self._child(sd, path, key)
            if child is None:
                continue  # unknown elements: the model library reports them
            for i, item in _items(value):
                item_loc = f"{loc}.{key}[{i}]" if isinstance(value, list) else f"{loc}.{key}"
                self._dispatch(item, sd, child, type_code, item_loc, env, out)

    def _dispatch(
        self,
        item: Any,
        sd: Mapping[str, Any],
        path: str,
        type_code: str,
        loc: str,
        env: _Env,
        out: list[Violation],
    ) -> None:
        element = sd["elements"][path]
        if type_code in PRIMITIVES or type_code.startswith("http://hl7.org/fhirpath/"):
            self._primitive(item, element, type_code, loc, env, out)
            return
        profile = element.get("typeProfiles", {}).get(type_code)
        datatype = profile if profile in self.types else type_code
        if element.get("contentReference"):
            target = element["contentReference"].lstrip("#")
            self._element(item, sd, target, loc, env, out, tuple(element["constraints"]))
        elif type_code in ("BackboneElement", "Element") and any(
            p.startswith(path + ".") for p in sd["elements"]
        ):
            self._element(item, sd, path, loc, env, out, inherited=())
        elif type_code == "Resource" or self.types.get(type_code, {}).get("kind") == "resource":
            if isinstance(item, Mapping):
                self._resource(item, loc, None, out)
        elif datatype in self.types:
            dt = self.types[datatype]
            self._element(item, dt, type_code, loc, env, out, tuple(element["constraints"]))

    def _primitive(
        self,
        item: Any,
        element: Mapping[str, Any],
        type_code: str,
        loc: str,
        env: _Env,
        out: list[Violation],
    ) -> None:
        for constraint in element["constraints"]:
            if constraint["key"] not in GENERIC_PRIMITIVE_RULES:
                self._check(item, type_code, constraint, loc, env, out)
        binding = element.get("binding")
        if (
            type_code == "code"
            and binding
            and binding["strength"] == "required"
            and binding["valueSet"] in self.value_sets
            and item not in self.value_sets[binding["valueSet"]]
        ):
            message = f"'{item}' is not in the required value set {binding['valueSet']}"
            out.append(Violation("binding", "error", message, loc))

    @staticmethod
    def _child(sd: Mapping[str, Any], path: str, key: str) -> tuple[str | None, str]:
        elements = sd["elements"]
        direct = f"{path}.{key}"
        if direct in elements:
            types = elements[direct]["types"]
            return direct, types[0] if types else "BackboneElement"
        depth = path.count(".") + 1
        for candidate, element in elements.items():  # choice types: value[x] -> valueQuantity
            if candidate.endswith("[x]") and candidate.startswith(path + "."):
                if candidate.count(".") != depth:
                    continue
                stem = candidate.rsplit(".", 1)[1][:-3]
                for t in element["types"]:
                    if key == stem + t[0].upper() + t[1:]:
                        return candidate, t
        return None, ""

    @staticmethod
    def _check(
        node: Any,
        base: str,
        constraint: Mapping[str, Any],
        loc: str,
        env: _Env,
        out: list[Violation],
    ) -> None:
        expression = KEY_FIXUPS.get(
            constraint["key"], FIXUPS.get(constraint["expression"], constraint["expression"])
        )
        error: str | None = None
        try:
            data = ResourceNode.create_node(node, base)  # type: ignore[no-untyped-call]
            passed = apply_parsed_path(  # type: ignore[no-untyped-call]
                data, _parsed(expression), env.variables, R4_MODEL, OPTIONS
            )
            ok = passed == [True]
        except Exception as exc:  # an expression that cannot be evaluated fails, never crashes
            ok, error = False, f"{type(exc).__name__}: {exc}"
        if not ok:
            message = f"{constraint['key']}: {constraint['human']}"
            out.append(Violation(constraint["key"], constraint["severity"], message, loc, error))


def _items(value: Any) -> Iterator[tuple[int, Any]]:
    return enumerate(value) if isinstance(value, list) else iter(((0, value),))


@cache
def validator() -> InvariantValidator:
    """Built once per process (about 0.1 s; the app builds it at start)."""
    return InvariantValidator(definitions())
