#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection under
# ansible_collections/sophia/lambda_swarm (ansible-test needs that layout).
# The copy holds the files git would commit (tracked + untracked, not ignored).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work="$repo/.cache/sanity"
dest="$work/ansible_collections/sophia/lambda_swarm"
rm -rf "$dest"
mkdir -p "$dest"
git -C "$repo" ls-files -z --cached --others --exclude-standard \
  | tar -C "$repo" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$dest" -xf -
cd "$dest"
# ansible-test lists a collection's files through git when it is a repository.
git init -q . && git add -A >/dev/null
python=$(command -v python3)
# ansible-test bootstraps pip in its venvs with a script from a host this machine cannot
# reach; put our stand-in (ensurepip, then pip from the configured index) in its cache.
pip_version=$("$python" -c 'import ansible_test, pathlib, re; p = pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py"; print(re.search(r"pip=.([0-9.]+).", p.read_text()).group(1))')
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp "$repo/tools/pip_bootstrap.py" "$cache"
"$(dirname "$python")/ansible-test" sanity --venv --requirements --python 3.11 \
  --color no --exclude tests/integration/ "$@"
