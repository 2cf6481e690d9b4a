"""The lab tests run playbooks on the lab: they use the lab's vault password (the make
targets export the same; ansible.cfg names none, so no other inventory gets it)."""

import os
import re
from pathlib import Path

import labkit

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


# A digest of every failure, printed by `make lab-test` after the stage fails, so the last
# lines of a CI log say why each test failed (pytest's own summary cuts the reason to one
# terminal line): the test, its assertion, and each failed Ansible task with its message.
DIGEST = ROOT / "artifacts" / "lab-failures.txt"


def pytest_sessionstart(session):
    DIGEST.unlink(missing_ok=True)


def digest(text, limit=4, width=400):
    """Up to ``limit`` lines: each ``fatal:``/``failed:`` line of the Ansible output in
    ``text`` (a failed test's report) with the task before it and the message after it."""
    # pytest marks the lines of an assertion's message with "E" and spaces: drop that mark only
    lines, out, task = [re.sub(r"^E\s+", "", line.strip()) for line in text.splitlines()], [], ""
    for i, bare in enumerate(lines):
        if "TASK [" in bare:
            task = bare.split("TASK [", 1)[1].split("]")[0]
        elif bare.startswith(("fatal: [", "failed: [")):
            after = lines[i + 1 : i + 14]
            at = next((j for j, m in enumerate(after) if m.startswith("msg:")), None)
            msg = "" if at is None else " ".join(after[at : at + 3]).replace("msg: |-", "msg:")
            out.append(("%s %s | %s" % (bare.split("=>")[0].strip(), task, msg))[:width])
    return out[-limit:]


def pytest_runtest_logreport(report):
    if not report.failed:
        return
    crash = getattr(report.longrepr, "reprcrash", None)
    head = "FAILED %s (%s): %s" % (report.nodeid, report.when, crash.message.splitlines()[0] if crash else "")
    DIGEST.parent.mkdir(exist_ok=True)
    with DIGEST.open("a") as f:
        f.write("\n".join([head[:400], *("    " + d for d in digest(report.longreprtext))]) + "\n")


def pytest_terminal_summary(terminalreporter):
    """Every playbook run of the session with its seconds, and their sum: where the lab time goes."""
    if not labkit.PLAYBOOK_TIMES:
        return
    total = sum(t for _, _, t, _ in labkit.PLAYBOOK_TIMES)
    terminalreporter.write_sep("=", "playbook runs: %d, %.0f s" % (len(labkit.PLAYBOOK_TIMES), total))
    for test, label, seconds, rc in labkit.PLAYBOOK_TIMES:
        terminalreporter.write_line("%7.1f s  rc=%-3d %s  %s" % (seconds, rc, test, label))
