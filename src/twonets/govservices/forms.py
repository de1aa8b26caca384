"""Forms of matters are JSON Schemas (draft 2020-12), validated on the server: every error
names its field (`form.<path>`, or `materials.<code>` for a missing upload)."""

from __future__ import annotations

from typing import Any

import jsonschema

from twonets.core.errors import InvalidInput
from twonets.govservices.models import Matter


_validators: dict[int, tuple[Matter, jsonschema.Draft202012Validator]] = {}


def form_errors(matter: Matter, form: dict[str, Any]) -> list[dict[str, str]]:
    hit = _validators.get(id(matter))
    if hit is None or hit[0] is not matter:
        hit = _validators[id(matter)] = (matter, jsonschema.Draft202012Validator(matter.form))
    errors = []
    for e in sorted(hit[1].iter_errors(form), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in e.absolute_path)
        if e.validator == "required":
            for name in e.validator_value:
                if isinstance(e.instance, dict) and name not in e.instance:
                    errors.append({"field": "form." + (f"{path}." if path else "") + name, "message": "required"})
        else:
            errors.append({"field": "form." + path if path else "form", "message": e.message})
    return errors


def check_complete(matter: Matter, form: dict[str, Any], uploads: dict[str, Any]) -> None:
    errors = form_errors(matter, form)
    for m in matter.materials:
        if m.source == "upload" and m.required and m.code not in uploads:
            errors.append({"field": f"materials.{m.code}", "message": f"upload {m.name_en} ({m.name_zh})"})
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise InvalidInput(f"the application is not complete: {detail}", errors=errors)
