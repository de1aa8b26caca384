"""Run every benchmark module `bench/bench_*.py` exposing `run() -> list[str]`.

    python -m bench            # all of them
    python -m bench city data  # only bench_city and bench_data

Each line a module returns is printed as is (`name: value unit (target: …)`); a module that
fails prints one line saying so and the others still run. The exit code is 1 if any failed.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path


def modules(wanted: list[str]) -> list[str]:
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    if wanted:
        wanted_set = {w if w.startswith("bench_") else f"bench_{w}" for w in wanted}
        unknown = wanted_set - set(names)
        if unknown:
            raise SystemExit(f"no benchmark module {', '.join(sorted(unknown))}; have {', '.join(names)}")
        names = [n for n in names if n in wanted_set]
    return names


def main(argv: list[str]) -> int:
    failed = 0
    for name in modules(argv):
        started = time.perf_counter()
        print(f"# {name}", flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            run = getattr(module, "run", None)
            if not callable(run):
                print(f"{name}: skipped (no run() function)", flush=True)
                continue
            for line in run():
                print(line, flush=True)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            failed += 1
            traceback.print_exc(file=sys.stderr)
            print(f"{name}: FAILED ({type(exc).__name__}: {exc})", flush=True)
        print(f"# {name} took {time.perf_counter() - started:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main(sys.argv[1:]))
