# Sourced by scripts/run and scripts/check: make .venv and install the bot into it when needed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "spring-bot needs Python 3.11 or newer; '$PYTHON' is $("$PYTHON" --version 2>&1)." >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating $VENV ..."
  if ! "$PYTHON" -m venv "$VENV"; then
    echo "Could not create a virtual environment. On Debian: apt-get install python3-venv" >&2
    exit 1
  fi
fi
# Reinstall only when pyproject.toml changed since the last install.
STAMP="$VENV/.installed"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  echo "Installing spring-bot and its dependencies into $VENV ..."
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  EXTRAS="dev"
  # PyICU (the Unicode suggestion for refused Zawgyi text) builds only against ICU's headers;
  # without them the bot still refuses Zawgyi, and says to convert it instead.
  if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists icu-i18n 2>/dev/null; then
    EXTRAS="dev,icu"
  fi
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[$EXTRAS]"
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
# Installing a browser needs root and a large download, so it is only mentioned, for checks.
if [ "$(basename "$0")" = "check" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "Note: chromium is not installed, so the browser test is skipped" \
    "(Debian: apt-get install chromium fonts-noto-core)." >&2
fi
cd "$ROOT"
