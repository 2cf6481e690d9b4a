#!/usr/bin/env bash
# The lab's sample secrets, made once per lab and never committed:
#  - inventory/lab/group_vars/all/vault.yml: variables encrypted with Ansible Vault
#    (password from lab/vault-pass.sh): the version key and an API token;
#  - .lab/secrets/signer_key: a controller file, several lines with non-ASCII text, for the
#    file source (and the byte-for-byte test);
#  - .lab/gateway/token: the token of the lab's gateway client (lab-tests), mode 0600; it
#    is the secrets_list entry lab_gateway_token (the tests rotate it);
#  - .lab/gateway/token-limited: the token of lab-limited, a client that may call one
#    server only;
#  - .lab/secrets/alert_hook_token: the credential of the lab's Alertmanager receiver (a
#    webhook that leads nowhere), which must never show in a Docker config or a log;
#  - .lab/secrets/backup_key: the passphrase backup.yml encrypts the swarm's state with (a
#    real inventory keeps it in its vault as backup_encryption_key).
# shellcheck source=lab/common.sh
source "$(dirname "$0")/common.sh"

VAULT_FILE=${LAB_VAULT_FILE:-$REPO_DIR/inventory/lab/group_vars/all/vault.yml}
VAULT=${ANSIBLE_VAULT:-$REPO_DIR/.venv/bin/ansible-vault}
[ -x "$VAULT" ] || VAULT=ansible-vault

random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

main() {
  umask 077
  mkdir -p "$LAB_STATE_DIR/secrets"
  if ! "$VAULT" view --vault-id "lab@$LAB_DIR/vault-pass.sh" "$VAULT_FILE" >/dev/null 2>&1; then
    local plain
    plain=$(mktemp)
    {
      echo "---"
      echo "# Made by lab/secrets.sh for this lab only; encrypted with the lab's vault password."
      echo "vault_secrets_version_key: \"$(random_hex 32)\""
      echo "vault_signer_api_token: \"lab-token-$(random_hex 16)\""
    } >"$plain"
    rm -f "$VAULT_FILE"
    "$VAULT" encrypt --vault-id "lab@$LAB_DIR/vault-pass.sh" --encrypt-vault-id lab --output "$VAULT_FILE" "$plain" >/dev/null
    rm -f "$plain"
    chmod 0600 "$VAULT_FILE"
    log "lab vault written: $VAULT_FILE"
  fi
  if [ ! -s "$LAB_STATE_DIR/gateway/token" ]; then
    mkdir -p "$LAB_STATE_DIR/gateway"
    random_hex 32 >"$LAB_STATE_DIR/gateway/token"
    log "lab gateway client token written: $LAB_STATE_DIR/gateway/token"
  fi
  if [ ! -s "$LAB_STATE_DIR/gateway/token-limited" ]; then
    mkdir -p "$LAB_STATE_DIR/gateway"
    random_hex 32 >"$LAB_STATE_DIR/gateway/token-limited"
    log "lab gateway client token written: $LAB_STATE_DIR/gateway/token-limited"
  fi
  if [ ! -s "$LAB_STATE_DIR/secrets/alert_hook_token" ]; then
    echo "lab-hook-$(random_hex 16)" >"$LAB_STATE_DIR/secrets/alert_hook_token"
    log "lab Alertmanager receiver credential written: $LAB_STATE_DIR/secrets/alert_hook_token"
  fi
  if [ ! -s "$LAB_STATE_DIR/secrets/backup_key" ]; then
    random_hex 32 >"$LAB_STATE_DIR/secrets/backup_key"
    log "lab backup key written: $LAB_STATE_DIR/secrets/backup_key"
  fi
  if [ ! -s "$LAB_STATE_DIR/secrets/signer_key" ]; then
    printf 'lab signer key %s\nzweite Zeile: grüße, 東京, ☃\n\ttab and trailing spaces  \n' \
      "$(random_hex 16)" >"$LAB_STATE_DIR/secrets/signer_key"
    log "lab signer key written: $LAB_STATE_DIR/secrets/signer_key"
  fi
}

main "$@"
