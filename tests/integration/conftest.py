"""The lab tests run playbooks on the lab: they use the lab's vault password (the make
targets export the same; ansible.cfg names none, so no other inventory gets it)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("ANSIBLE_VAULT_IDENTITY_LIST", "lab@%s" % (ROOT / "lab" / "vault-pass.sh"))
