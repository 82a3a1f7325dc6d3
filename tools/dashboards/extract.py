#!/usr/bin/env python3
"""Reads Grafana dashboards: their PromQL expressions, or their panels' options.

    extract.py exprs [--substitute] DASHBOARD.json...
        One JSON object per line for every PromQL expression: panel targets
        ({"dashboard", "panel", "title", "ref", "expr"}) and query variables
        ({"dashboard", "variable", "expr"}: label_values(SELECTOR, label) becomes
        `group by (label) (SELECTOR)`, query_result(EXPR) becomes EXPR).
        --substitute replaces Grafana's variables with values Prometheus accepts:
        $__rate_interval 1m, $__interval 15s, $__range 1h, $__range_s 3600,
        $job/$instance/$device/$peer (as =~ regexes) .*
    extract.py rules DASHBOARD.json...
        A Prometheus rule file (JSON is YAML) with one recording rule per
        substituted expression, for `promtool check rules` (the real parser).
    extract.py split DIR DASHBOARD.json...
        Writes each panel's options to DIR/<type>/options/<dashboard>-<id>.json and
        its fieldConfig.defaults.custom to DIR/<type>/custom/<dashboard>-<id>.json,
        for validation against the panel plugin's own schema.

Standard library only; used by validate.sh.
"""

import json
import re
import sys
from pathlib import Path

SUBSTITUTIONS = [
    ("$__rate_interval", "1m"),
    ("${__rate_interval}", "1m"),
    ("$__interval", "15s"),
    ("${__interval}", "15s"),
    ("$__range_s", "3600"),
    ("${__range_s}", "3600"),
    ("$__range_ms", "3600000"),
    ("${__range_ms}", "3600000"),
    ("$__range", "1h"),
    ("${__range}", "1h"),
]
VARIABLES = ("job", "instance", "device", "peer")


def substitute(expr: str) -> str:
    for old, new in SUBSTITUTIONS:
        expr = expr.replace(old, new)
    for name in VARIABLES:
        expr = re.sub(r"\$\{" + name + r"(:\w+)?\}|\$" + name + r"\b", ".*", expr)
    if "$" in expr:
        raise SystemExit(f"unsubstituted variable in: {expr}")
    return expr


def panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # inside a row panel


def variable_expr(query: str):
    """The PromQL behind a Prometheus query variable, or None for other kinds."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", query, re.S)
    if m:
        return f"group by ({m.group(2)}) ({m.group(1)})"
    m = re.fullmatch(r"\s*query_result\((.*)\)\s*", query, re.S)
    if m:
        return m.group(1)
    return None


def expressions(paths, subst):
    for path in paths:
        dashboard = json.loads(Path(path).read_text(encoding="utf-8"))
        name = Path(path).name
        for panel in panels(dashboard):
            for t in panel.get("targets", []):
                if "expr" in t:
                    expr = substitute(t["expr"]) if subst else t["expr"]
                    yield {"dashboard": name, "panel": panel.get("id"),
                           "title": panel.get("title", ""), "ref": t.get("refId", ""),
                           "expr": expr}
        for v in dashboard.get("templating", {}).get("list", []):
            if v.get("type") != "query":
                continue
            query = v.get("query")
            if isinstance(query, dict):
                query = query.get("query", "")
            expr = variable_expr(query or "")
            if expr is None:
                raise SystemExit(f"{name}: variable {v['name']}: unknown query {query!r}")
            yield {"dashboard": name, "variable": v["name"],
                   "expr": substitute(expr) if subst else expr}


def split(out, paths):
    out = Path(out)
    count = 0
    for path in paths:
        dashboard = json.loads(Path(path).read_text(encoding="utf-8"))
        stem = Path(path).stem
        for panel in panels(dashboard):
            kind = panel["type"]
            if kind == "row":
                continue
            parts = {"options": panel.get("options", {})}
            custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom")
            if custom is not None:
                parts["custom"] = custom
            for part, value in parts.items():
                target = out / kind / part / f"{stem}-{panel['id']}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(value, indent=2), encoding="utf-8")
                count += 1
    print(f"{count} panel option objects")


def main(argv):
    if len(argv) >= 3 and argv[1] == "exprs":
        args = argv[2:]
        subst = "--substitute" in args
        args = [a for a in args if a != "--substitute"]
        for e in expressions(args, subst):
            print(json.dumps(e, ensure_ascii=False))
        return 0
    if len(argv) >= 3 and argv[1] == "rules":
        rules = [
            {"record": f"dashboard:expr_{i}", "expr": e["expr"]}
            for i, e in enumerate(expressions(argv[2:], True))
        ]
        print(json.dumps({"groups": [{"name": "dashboard_expressions", "rules": rules}]}, indent=2))
        return 0
    if len(argv) >= 4 and argv[1] == "split":
        split(argv[2], argv[3:])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
