"""Forms of matters are JSON Schemas (draft 2020-12), validated on the server: every error
names its field (`form.<path>`, or `materials.<code>` for a missing upload).

Limits the server adds to every matter's schema (where the schema says nothing itself):
- an object takes only the fields it lists (`additionalProperties: false`): an unknown field is
  an error naming it (`form.foo`: unknown field), never stored or decided on;
- a free-text string is at most `DEFAULT_MAX_LENGTH` characters, a list at most `DEFAULT_MAX_ITEMS`
  items;
- an error message quotes at most `ECHO` characters of what was sent, so a huge value never comes
  back in the error body.

Unknown fields and lengths are checked whenever a form is given (start, update); everything
(types, patterns, `required`) on submit.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema

from twonets.core.errors import InvalidInput
from twonets.core.i18n import N_, Joined, Msg
from twonets.govservices.models import Matter

DEFAULT_MAX_LENGTH = 500
DEFAULT_MAX_ITEMS = 100
ECHO = 200

_validators: dict[int, tuple[Matter, jsonschema.Draft202012Validator]] = {}


def bounded(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the server's limits added where it sets none (see the module)."""
    out = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind == "object" or "properties" in node:
            node.setdefault("additionalProperties", False)
            for sub in (node.get("properties") or {}).values():
                walk(sub)
        if kind == "string":
            node.setdefault("maxLength", DEFAULT_MAX_LENGTH)
        if kind == "array":
            node.setdefault("maxItems", DEFAULT_MAX_ITEMS)
            walk(node.get("items"))

    walk(out)
    return out


def _short(text: Any) -> str:
    text = str(text)
    return text if len(text) <= ECHO else text[:ECHO] + "…"


def _validator(matter: Matter) -> jsonschema.Draft202012Validator:
    hit = _validators.get(id(matter))
    if hit is None or hit[0] is not matter:
        hit = _validators[id(matter)] = (matter, jsonschema.Draft202012Validator(bounded(matter.form)))
    return hit[1]


def form_errors(matter: Matter, form: dict[str, Any], *, complete: bool = True) -> list[dict[str, str]]:
    """Errors of `form` against the matter's bounded schema; `complete=False` leaves out missing
    required fields (a draft may be partial)."""
    errors = []
    for e in sorted(_validator(matter).iter_errors(form), key=lambda e: [str(p) for p in e.absolute_path]):
        path = ".".join(str(p) for p in e.absolute_path)
        prefix = "form." + (f"{path}." if path else "")
        if e.validator == "required":
            if complete:
                for name in e.validator_value:
                    if isinstance(e.instance, dict) and name not in e.instance:
                        errors.append({"field": prefix + name, "message": Msg("required")})
        elif e.validator == "additionalProperties" and isinstance(e.instance, dict):
            known = set(e.schema.get("properties") or {})
            for name in sorted(set(e.instance) - known):
                errors.append({"field": prefix + _short(name), "message": Msg("unknown field")})
        elif e.validator in SCHEMA_MESSAGES:
            value = e.validator_value
            if e.validator == "enum":
                value = ", ".join(map(str, value))
            errors.append({"field": "form." + path if path else "form",
                           "message": Msg(SCHEMA_MESSAGES[e.validator], value=value)})
        else:  # a rarer JSON Schema keyword: its validator's own (English) words
            errors.append({"field": "form." + path if path else "form", "message": _short(e.message)})
    return errors


# JSON Schema keyword -> message ({value} is the keyword's value)
SCHEMA_MESSAGES = {
    "maxLength": N_("at most {value} characters"), "maxItems": N_("at most {value} items"),
    "minLength": N_("at least {value} characters"), "minItems": N_("at least {value} items"),
    "minimum": N_("must be at least {value}"), "maximum": N_("must be at most {value}"), "enum": N_("one of: {value}"),
    "type": N_("must be of type {value}"), "pattern": N_("does not match the pattern {value}"),
    "format": N_("is not a valid {value}"),
}


def _raise(errors: list[dict[str, str]], what: str) -> None:
    if errors:
        detail = Joined([Msg("{field}: {message}", field=e["field"], message=e["message"]) for e in errors[:5]])
        raise InvalidInput(Msg("{what}: {detail}", what=what, detail=detail), errors=errors)


_BOUNDS = ("unknown field", "at most ")


def check_shape(matter: Matter, form: dict[str, Any]) -> None:
    """Unknown fields and over-long values are refused at once, even in a draft (nothing
    unbounded is stored); the other errors are reported, all together, on submit."""
    errors = [e for e in form_errors(matter, form, complete=False) if e["message"].startswith(_BOUNDS)]
    _raise(errors, Msg("the form is not valid"))


def check_complete(matter: Matter, form: dict[str, Any], uploads: dict[str, Any]) -> None:
    errors = form_errors(matter, form)
    for m in matter.materials:
        if m.source == "upload" and m.required and m.code not in uploads:
            errors.append({"field": f"materials.{m.code}",
                           "message": Msg("upload {name_en} ({name_zh})", name_en=m.name_en, name_zh=m.name_zh)})
    _raise(errors, Msg("the application is not complete"))
