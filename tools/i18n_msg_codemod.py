"""Wrap domain errors' messages in `Msg` (a message id and its parameters), for merging code written
before the catalogue:

    python tools/i18n_msg_codemod.py FILE.py …

`raise NotFound("text")` becomes `raise NotFound(Msg("text"))`, `raise Conflict(f"… {x.y} …")`
becomes `raise Conflict(Msg("… {y} …", y=x.y))`, and each `"message": …` inside their `errors=[…]`
likewise; `from twonets.core.i18n import Msg` is added. Then `ruff check --fix`, rename any
parameter called `value` to something a translator understands, `make i18n`, translate.
tests/unit/core/test_catalogue.py names what is left.
"""
import ast, re, sys
from pathlib import Path

ERRS = {"NotFound", "Conflict", "InvalidInput", "Forbidden", "Unauthorized", "DomainError", "PurposeMismatch"}

def name_for(node, src):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return re.sub(r"\W", "_", node.slice.value)
    if isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr == "join":
            a = node.args[0] if node.args else None
            inner = name_for(a, src) if a is not None else None
            if isinstance(a, ast.Call) and isinstance(a.func, ast.Name) and a.func.id == "sorted" and a.args:
                inner = name_for(a.args[0], src)
            return (inner or "items").lower()
        if isinstance(f, ast.Name) and f.id == "len":
            return "count"
        if isinstance(f, ast.Name) and f.id == "sorted" and node.args:
            return name_for(node.args[0], src)
        if isinstance(f, ast.Attribute):
            return f.attr if f.attr not in ("isoformat", "strip") else name_for(f.value, src)
    if isinstance(node, ast.BinOp):
        return "value"
    return "value"

def template(js, src):
    parts, params = [], {}
    for v in js.values:
        if isinstance(v, ast.Constant):
            parts.append(v.value.replace("{", "{{").replace("}", "}}"))
        else:
            expr = ast.get_source_segment(src, v.value)
            existing = [k for k, e in params.items() if e == expr]
            if existing:
                n = existing[0]
            else:
                base = name_for(v.value, src) or "value"
                base = base if base.isidentifier() and base not in ("class", "def") else "value"
                n, i = base, 2
                while n in params:
                    n = f"{base}{i}"; i += 1
                params[n] = expr
            conv = {-1: "", 114: "!r", 115: "!s", 97: "!a"}[v.conversion]
            spec = ""
            if v.format_spec is not None:
                spec = ":" + "".join(c.value for c in v.format_spec.values)
            parts.append("{" + n + conv + spec + "}")
    return "".join(parts), params

def msg_call(node, src):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return f"Msg({node.value!r})".replace("Msg('", 'Msg("').replace("')", '")') if '"' not in node.value else f"Msg({node.value!r})"
    if isinstance(node, ast.JoinedStr):
        t, params = template(node, src)
        lit = repr(t)
        if '"' not in t:
            lit = '"' + lit[1:-1].replace("\\'", "'") + '"'
        args = "".join(f", {k}={e}" for k, e in params.items())
        return f"Msg({lit}{args})"
    return None

def process(path):
    src = Path(path).read_text()
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    offs = [0]
    for l in lines:
        offs.append(offs[-1] + len(l))
    def pos(lineno, col):
        return offs[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode())
    reps = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        fname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if fname not in ERRS:
            continue
        if node.args:
            new = msg_call(node.args[0], src)
            if new:
                a = node.args[0]
                reps.append((pos(a.lineno, a.col_offset), pos(a.end_lineno, a.end_col_offset), new))
        for kw in node.keywords:
            if kw.arg == "errors" and isinstance(kw.value, (ast.List, ast.ListComp)):
                for d in ast.walk(kw.value):
                    if isinstance(d, ast.Dict):
                        for k, v in zip(d.keys, d.values):
                            if isinstance(k, ast.Constant) and k.value == "message":
                                new = msg_call(v, src)
                                if new:
                                    reps.append((pos(v.lineno, v.col_offset), pos(v.end_lineno, v.end_col_offset), new))
    if not reps:
        return 0
    reps.sort(reverse=True)
    for s, e, new in reps:
        src = src[:s] + new + src[e:]
    # import
    if "from twonets.core.i18n import Msg" not in src:
        m = re.search(r"^from twonets\.core\.errors import .*$", src, re.M)
        if m:
            src = src[:m.end()] + "\nfrom twonets.core.i18n import Msg" + src[m.end():]
        else:
            m = list(re.finditer(r"^(from|import) [^\n]*\n(?:[ \t]+[^\n]*\n|\)\n)*", src, re.M))
            last = m[-1]
            src = src[:last.end()] + "from twonets.core.i18n import Msg\n" + src[last.end():]
    Path(path).write_text(src)
    return len(reps)

total = 0
for p in sys.argv[1:]:
    n = process(p)
    if n:
        print(n, p)
    total += n
print("total", total)
