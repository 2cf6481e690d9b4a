# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: the monitoring role's small decisions. Docker config names
by content (a config cannot change, so new content is a new config) and the one-line summary
of Prometheus's active targets. Pure functions, no Ansible."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence

NAME_LENGTH = 10


def config_names(
    files: Mapping[str, str], contents: Sequence[str], length: int = NAME_LENGTH
) -> Dict[str, Dict[str, str]]:
    """key -> {"file", "name": KEY_<first ``length`` hex digits of the content's sha256>}, for
    ``files`` (key -> file name) and their ``contents`` in the same order."""
    if len(files) != len(contents):
        raise ValueError(
            "%d files but %d contents: give one content per file, in order" % (len(files), len(contents))
        )
    out = {}
    for index, (key, file) in enumerate(files.items()):
        content = contents[index]
        digest = hashlib.sha256(str(content).encode("utf-8")).hexdigest()[:length]
        out[key] = {"file": file, "name": "%s_%s" % (key, digest)}
    return out


def target_summary(active_targets: Optional[Iterable[Mapping[str, Any]]]) -> str:
    """ "JOB N, JOB N" (sorted by job) of Prometheus's active targets."""
    counts: Dict[str, int] = {}
    for target in active_targets or []:
        job = str((target.get("labels") or {}).get("job", "?"))
        counts[job] = counts.get(job, 0) + 1
    return ", ".join("%s %d" % (job, counts[job]) for job in sorted(counts))
