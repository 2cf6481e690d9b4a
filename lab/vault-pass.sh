#!/usr/bin/env bash
# Ansible's vault password for the lab (--vault-id lab@lab/vault-pass.sh; the make targets export
# ANSIBLE_VAULT_IDENTITY_LIST with it, ansible.cfg names none). The lab makes its
# own password at first use, kept in .lab/vault-password (git-ignored, mode 0600); lab/up.sh
# encrypts the lab's sample secrets with it. Real inventories bring their own password
# (--vault-password-file or ANSIBLE_VAULT_PASSWORD_FILE override this).
set -euo pipefail
state=${LAB_STATE_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.lab}
file=$state/vault-password
# ansible-lint and ansible-playbook may call this several times at once on a fresh checkout:
# the password is written to a file of its own and linked into place, so a reader never sees
# a half-written one and the first writer wins.
if [ ! -s "$file" ]; then
  mkdir -p "$state"
  tmp=$(umask 077 && mktemp "$state/.vault-password.XXXXXX")
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp"
  ln "$tmp" "$file" 2>/dev/null || true
  rm -f "$tmp"
fi
cat "$file"
