# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: NVIDIA GPU facts from nvidia-smi output. Pure parsing,
no Ansible import; the module runs the commands.

Formats read (NVIDIA's nvidia-smi):
- ``--query-gpu=<QUERY_FIELDS> --format=csv,noheader,nounits``: one comma-separated line per
  GPU; a value a board does not have reads ``[N/A]`` (MIG mode on boards without MIG).
- ``-L``: ``GPU <index>: <name> (UUID: GPU-<uuid>)``, and under a GPU in MIG mode one
  indented line per MIG device, ``MIG <profile> Device <n>: (UUID: MIG-<uuid>)`` (drivers
  470 and later) or ``MIG <profile> Device <n>: (UUID: MIG-GPU-<gpu uuid>/<gi>/<ci>)``
  (earlier drivers). The NVIDIA container runtime takes either UUID form in the device list.

A GPU in MIG mode runs CUDA work only in its MIG devices, so those are what a host offers
to Swarm (``resources``): each MIG device on a GPU with MIG enabled, each other GPU whole.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

QUERY_FIELDS = (
    "index",
    "uuid",
    "name",
    "memory.total",
    "driver_version",
    "mig.mode.current",
    "mig.mode.pending",
)
QUERY_ARGS = ["--query-gpu=" + ",".join(QUERY_FIELDS), "--format=csv,noheader,nounits"]

_LIST_GPU = re.compile(r"^GPU (\d+): (.+?) \(UUID: (GPU-[0-9a-fA-F-]+)\)\s*$")
_LIST_MIG = re.compile(
    r"^\s+MIG (\S+)\s+Device\s+(\d+): \(UUID: (MIG-(?:GPU-[0-9a-fA-F-]+/\d+/\d+|[0-9a-fA-F-]+))\)\s*$"
)
_PROFILE_MEMORY = re.compile(r"(\d+)gb", re.IGNORECASE)
_CUDA = re.compile(r"CUDA Version:\s*([0-9.]+)")
_DRIVER = re.compile(r"Driver Version:\s*([0-9.]+)")


def _value(text: str) -> Optional[str]:
    text = text.strip()
    return None if text in ("", "[N/A]", "N/A", "[Not Supported]", "[Unknown Error]") else text


def parse_query(csv_text: str) -> List[Dict[str, Any]]:
    """Rows of ``nvidia-smi --query-gpu=<QUERY_FIELDS> --format=csv,noheader,nounits``."""
    gpus = []
    for line in csv_text.splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(QUERY_FIELDS):
            raise ValueError(
                "unexpected nvidia-smi query line (%d fields, %d expected): %s"
                % (len(cells), len(QUERY_FIELDS), line)
            )
        index, uuid, name, memory, driver, mig, pending = (_value(c) for c in cells)
        gpus.append(
            {
                "index": int(index),
                "uuid": uuid,
                "name": name,
                "memory_mib": int(float(memory)) if memory else None,
                "driver_version": driver,
                "mig_mode": (mig or "").lower() or None,
                "mig_mode_pending": (pending or "").lower() or None,
                "mig_devices": [],
            }
        )
    return gpus


def parse_list(text: str) -> List[Dict[str, Any]]:
    """``nvidia-smi -L``: GPUs and the MIG devices under each."""
    gpus, current = [], None
    for line in text.splitlines():
        gpu = _LIST_GPU.match(line)
        if gpu:
            current = {
                "index": int(gpu.group(1)),
                "name": gpu.group(2),
                "uuid": gpu.group(3),
                "mig_devices": [],
            }
            gpus.append(current)
            continue
        mig = _LIST_MIG.match(line)
        if mig and current is not None:
            memory = _PROFILE_MEMORY.search(mig.group(1))
            current["mig_devices"].append(
                {
                    "profile": mig.group(1),
                    "index": int(mig.group(2)),
                    "uuid": mig.group(3),
                    "memory_gb": int(memory.group(1)) if memory else None,
                }
            )
    return gpus


def parse_header(text: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """Driver and CUDA versions from the plain ``nvidia-smi`` table's header."""
    cuda, driver = _CUDA.search(text or ""), _DRIVER.search(text or "")
    return (driver.group(1) if driver else None), (cuda.group(1) if cuda else None)


def build_facts(
    query: Optional[str] = None,
    listing: Optional[str] = None,
    header: Optional[str] = None,
    error: Optional[str] = None,
    binary: Optional[str] = None,
) -> Dict[str, Any]:
    """The ``gpu`` facts. No binary or a failing driver: count 0, never an exception."""
    facts = {
        "count": 0,
        "model": None,
        "gpus": [],
        "uuids": [],
        "driver_version": None,
        "cuda_version": None,
        "mig_enabled": False,
        "resources": [],
        "resource_uuids": [],
        "mig_gpus_without_devices": [],
        "nvidia_smi": binary,
        "driver_loaded": False,
        "error": error,
    }
    if binary is None or error:
        return facts
    gpus = parse_query(query or "")
    by_uuid = dict((g["uuid"], g) for g in parse_list(listing or ""))
    for gpu in gpus:
        listed = by_uuid.get(gpu["uuid"])
        if listed:
            gpu["mig_devices"] = listed["mig_devices"]
    driver, cuda = parse_header(header)
    resources = schedulable(gpus)
    facts.update(
        {
            "count": len(gpus),
            "model": gpus[0]["name"] if gpus else None,
            "gpus": gpus,
            "uuids": [g["uuid"] for g in gpus],
            "driver_version": (gpus[0]["driver_version"] if gpus else None) or driver,
            "cuda_version": cuda,
            "mig_enabled": any(g["mig_mode"] == "enabled" for g in gpus),
            "resources": resources,
            "resource_uuids": [r["uuid"] for r in resources],
            "mig_gpus_without_devices": [
                g["index"] for g in gpus if g["mig_mode"] == "enabled" and not g["mig_devices"]
            ],
            "driver_loaded": True,
        }
    )
    return facts


def schedulable(gpus: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """What the host can hand to containers, one entry per device: the MIG devices of a GPU
    with MIG enabled (none when it has no MIG device yet), every other GPU whole."""
    out = []
    for gpu in gpus:
        if gpu["mig_mode"] == "enabled":
            for mig in gpu["mig_devices"]:
                out.append(
                    {
                        "uuid": mig["uuid"],
                        "type": "mig",
                        "gpu_index": gpu["index"],
                        "gpu_uuid": gpu["uuid"],
                        "name": "%s MIG %s" % (gpu["name"], mig["profile"]),
                        "profile": mig["profile"],
                        # nvidia-smi -L gives no MIG memory; the profile's name rounds it
                        "memory_mib": None,
                        "profile_memory_gb": mig["memory_gb"],
                    }
                )
        else:
            out.append(
                {
                    "uuid": gpu["uuid"],
                    "type": "gpu",
                    "gpu_index": gpu["index"],
                    "gpu_uuid": gpu["uuid"],
                    "name": gpu["name"],
                    "profile": None,
                    "memory_mib": gpu["memory_mib"],
                    "profile_memory_gb": None,
                }
            )
    return out


def generic_resources(uuids: Iterable[str], kind: str = "NVIDIA-GPU") -> List[str]:
    """dockerd ``node-generic-resources`` entries, one per GPU."""
    return ["%s=%s" % (kind, uuid) for uuid in uuids]


def container_cli_verdict(
    path: Optional[str], rc: Optional[int] = None, out: str = "", err: str = ""
) -> Dict[str, Any]:
    """``container_cli`` of the facts: ``nvidia-container-cli info``'s exit (``rc``) and output,
    or no binary (``path`` None: the toolkit is not installed)."""
    if path is None:
        return {"path": None, "ok": False, "error": "nvidia-container-cli is not installed"}
    if rc == 0:
        return {"path": path, "ok": True, "error": None}
    said = ((err or "").strip() or (out or "").strip()).splitlines()
    error = "nvidia-container-cli info exited %s: %s" % (rc, " ".join(said[:3]))
    return {"path": path, "ok": False, "error": error}
