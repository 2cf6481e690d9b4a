"""The lab tests run playbooks on the lab: they use the lab's vault password (the make
targets export the same; ansible.cfg names none, so no other inventory gets it)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("ANSIBLE_VAULT_IDENTITY_LIST", "lab@%s" % (ROOT / "lab" / "vault-pass.sh"))


# The order the modules run in, whatever order they are given in (molecule verify passes them
# sorted): the ones that only read the lab as site.yml left it first, the ones that break and
# repair nodes last, so a read-only check never waits for a recovery an earlier test caused.
ORDER = (
    "test_lab",
    "test_hosts",
    "test_preflight",
    "test_gpu",
    "test_monitoring",
    "test_secrets",
    "test_stack",
    "test_swarm",
    "test_faults",
    "test_upgrade",
    "test_restore",
)


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.module.__name__.rsplit(".", 1)[-1]
        return ORDER.index(name) if name in ORDER else len(ORDER)

    items.sort(key=rank)  # stable: the tests of a module keep their order
