#!/usr/bin/env bash
# Validates dashboards/*.json offline, without a Grafana server (none can be
# installed here: shared tooling notes, section 2):
#   1. the JSON is what tools/dashboards/generate.py writes;
#   2. each dashboard against a JSON Schema generated from Grafana's own
#      TypeScript types (npm @grafana/schema, type Dashboard) by
#      ts-json-schema-generator, checked with check-jsonschema (PyPI). The
#      schema is strict (additionalProperties: false): legacy keys such as
#      `rows` or `style` fail;
#   3. each panel's `options` and `fieldConfig.defaults.custom` against the
#      panel plugin's own types (@grafana/schema composable/<type>/panelcfg:
#      Options, FieldConfig); a panel type with no such types (e.g. the
#      legacy `graph`) fails;
#   4. every PromQL expression (targets and query variables, Grafana variables
#      substituted) with the real parser: `promtool check rules`, when
#      promtool is installed (tests/integration/dashboards.rs also runs them
#      against a real Prometheus).
#
# Tools (tools/install-test-deps.sh installs them):
#   npm ci --prefix tools/dashboards --no-audit --no-fund
#   python3 -m venv .venv-tools && .venv-tools/bin/pip install check-jsonschema==0.39.0
# Usage: validate.sh [DASHBOARD.json...] (default: dashboards/*.json and the
# generator check; with files, only those are validated).
# Exit status: 0 valid, 1 invalid, 2 a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

here=tools/dashboards
generator=$here/node_modules/.bin/ts-json-schema-generator
types=$here/node_modules/@grafana/schema/dist/types/raw
if [ -x .venv-tools/bin/check-jsonschema ]; then
  check_jsonschema=.venv-tools/bin/check-jsonschema
else
  check_jsonschema=$(command -v check-jsonschema || true)
fi
missing=()
command -v node >/dev/null 2>&1 || missing+=("node (Debian nodejs)")
command -v python3 >/dev/null 2>&1 || missing+=("python3")
[ -x "$generator" ] && [ -d "$types" ] || missing+=("npm packages: npm ci --prefix $here")
[ -n "$check_jsonschema" ] || missing+=("check-jsonschema: .venv-tools/bin/pip install check-jsonschema")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'validate.sh: missing %s\n' "${missing[@]}" >&2
  exit 2
fi

if [ $# -gt 0 ]; then
  dashboards=("$@")
else
  dashboards=(dashboards/*.json)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

schema() { # schema TYPES_FILE TYPE OUT
  "$generator" --path "$1" --type "$2" --tsconfig "$here/tsconfig.json" --no-type-check -o "$3" >/dev/null
}

if [ $# -eq 0 ]; then
  echo "== generated: ${dashboards[*]}"
  python3 "$here/generate.py" --check
  echo "up to date with $here/generate.py"
fi

echo "== dashboards against @grafana/schema Dashboard"
schema "$types/dashboard/x/types.gen.d.ts" Dashboard "$work/dashboard.schema.json"
"$check_jsonschema" --schemafile "$work/dashboard.schema.json" "${dashboards[@]}"

echo "== panel options against each panel plugin's types"
python3 "$here/extract.py" split "$work/panels" "${dashboards[@]}"
status=0
for dir in "$work"/panels/*/; do
  kind=$(basename "$dir")
  cfg=$types/composable/${kind//-/}/panelcfg/x/types.gen.d.ts
  if [ ! -f "$cfg" ]; then
    echo "panel type $kind: no panelcfg types in @grafana/schema (legacy or unknown panel)" >&2
    status=1
    continue
  fi
  schema "$cfg" Options "$work/$kind.options.schema.json"
  echo "-- $kind options"
  "$check_jsonschema" --schemafile "$work/$kind.options.schema.json" "$dir"options/*.json || status=1
  if [ -d "$dir/custom" ]; then
    if grep -q '^export interface FieldConfig' "$cfg"; then
      schema "$cfg" FieldConfig "$work/$kind.custom.schema.json"
      echo "-- $kind fieldConfig.defaults.custom"
      "$check_jsonschema" --schemafile "$work/$kind.custom.schema.json" "$dir"custom/*.json || status=1
    else
      echo "panel type $kind has no FieldConfig: fieldConfig.defaults.custom must be absent" >&2
      status=1
    fi
  fi
done
[ "$status" -eq 0 ] || exit 1

echo "== PromQL with promtool"
if command -v promtool >/dev/null 2>&1; then
  python3 "$here/extract.py" rules "${dashboards[@]}" >"$work/expressions.rules.yml"
  promtool check rules "$work/expressions.rules.yml"
else
  echo "promtool not installed: skipped (tests/integration/dashboards.rs runs the expressions)"
fi
echo "dashboards valid"
