"""gpu_facts parsing, on nvidia-smi output.

Where each sample comes from (no GPU machine was lent to the session that wrote this; the
recorded samples are public recordings, the others follow nvidia-smi's formats exactly):
- nvidia_smi_a100_mig_list.txt: `nvidia-smi -L` of a 4x A100-SXM4-80GB host with MIG on
  GPU 0, recorded by a user in influxdata/telegraf issue #5812 (2023-08-04).
- nvidia_smi_quadro_list.txt, nvidia_smi_quadro_header.txt: `nvidia-smi -L` and the plain
  `nvidia-smi` header of a 2x Quadro RTX 4000 host (driver 535.129.03, CUDA 12.2), recorded
  in akash-network/provider-configs pull request #12 (2024-02-29).
- nvidia_smi_h100x8_*.{csv,txt} and nvidia_smi_a10_*.{csv,txt}: NOT recorded. Written in the
  `--format=csv,noheader,nounits` and `-L` formats above, with the memory totals nvidia-smi
  reports for these boards (H100 81559 MiB, A10 23028 MiB, as listed in
  modal-labs/modal-client pull request #2797) and made-up UUIDs. Replace them with real
  recordings from an 8x H100 and a 1x A10 Lambda host when one is available.
- nvidia_smi_a100_pcie_mig_list.txt: `nvidia-smi -L` of a 1x A100 80GB PCIe host with two
  3g.40gb MIG devices (driver 530), recorded by a user in NVIDIA/nvidia-container-toolkit
  issue #203 (2024-01-08).
- The `--query-gpu` lines of the MIG tests and the pre-470 `MIG-GPU-<uuid>/<gi>/<ci>` listing
  below are NOT recorded: written in nvidia-smi's formats around the recorded UUIDs.
- nvidia_smi_driver_not_loaded.txt: the message nvidia-smi prints (exit 9) when the kernel
  driver is not loaded.
The query samples gained the `mig.mode.pending` column when gpu_facts started asking for it.
"""

import json
import sys
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _gpu_facts as _gpu
from ansible_collections.sophia.lambda_swarm.plugins.modules import gpu_facts
from module_harness import Exit

SAMPLES = Path(__file__).parent / "samples"


def sample(name):
    return (SAMPLES / name).read_text()


def test_eight_h100():
    facts = _gpu.build_facts(
        query=sample("nvidia_smi_h100x8_query.csv"), listing=sample("nvidia_smi_h100x8_list.txt"),
        header="| NVIDIA-SMI 550.90.07   Driver Version: 550.90.07   CUDA Version: 12.4 |", binary="/usr/bin/nvidia-smi",
    )  # fmt: skip
    assert facts["count"] == 8
    assert facts["model"] == "NVIDIA H100 80GB HBM3"
    assert [g["index"] for g in facts["gpus"]] == list(range(8))
    assert all(g["memory_mib"] == 81559 for g in facts["gpus"])
    assert facts["driver_version"] == "550.90.07" and facts["cuda_version"] == "12.4"
    assert facts["mig_enabled"] is False and facts["driver_loaded"] is True
    assert len(set(facts["uuids"])) == 8
    assert facts["resource_uuids"] == facts["uuids"]  # without MIG, each GPU is offered whole
    assert facts["resources"][7] == {
        "uuid": facts["uuids"][7], "type": "gpu", "gpu_index": 7, "gpu_uuid": facts["uuids"][7],
        "name": "NVIDIA H100 80GB HBM3", "profile": None, "memory_mib": 81559, "profile_memory_gb": None,
    }  # fmt: skip
    assert _gpu.generic_resources(facts["uuids"])[0] == "NVIDIA-GPU=" + facts["uuids"][0]


def test_one_a10_with_mig_not_applicable():
    facts = _gpu.build_facts(query=sample("nvidia_smi_a10_query.csv"), listing=sample("nvidia_smi_a10_list.txt"),
                             header="", binary="/usr/bin/nvidia-smi")  # fmt: skip
    assert facts["count"] == 1 and facts["model"] == "NVIDIA A10"
    assert facts["gpus"][0]["mig_mode"] is None  # [N/A] on boards without MIG
    assert facts["gpus"][0]["mig_mode_pending"] is None
    assert facts["gpus"][0]["memory_mib"] == 23028
    assert facts["cuda_version"] is None


def test_mig_devices_are_attached_to_their_gpu():
    listing = sample("nvidia_smi_a100_mig_list.txt")
    gpus = _gpu.parse_list(listing)
    assert [g["index"] for g in gpus] == [0, 1, 2, 3]
    assert [m["profile"] for m in gpus[0]["mig_devices"]] == ["1g.20gb"] * 4
    assert gpus[0]["mig_devices"][3]["uuid"] == "MIG-930574a9-d43a-5d2b-95da-3e68384c8d6b"
    assert gpus[1]["mig_devices"] == []
    query = "".join(
        "%d, %s, NVIDIA A100-SXM4-80GB, 81920, 535.54.03, %s, %s\n"
        % (g["index"], g["uuid"], *(["Enabled" if g["index"] == 0 else "Disabled"] * 2))
        for g in gpus
    )
    facts = _gpu.build_facts(query=query, listing=listing, header="", binary="/usr/bin/nvidia-smi")
    assert facts["mig_enabled"] is True
    assert len(facts["gpus"][0]["mig_devices"]) == 4
    # GPU 0 is offered as its four MIG devices, GPUs 1-3 whole
    assert [(r["type"], r["gpu_index"]) for r in facts["resources"]] == [("mig", 0)] * 4 + [
        ("gpu", 1),
        ("gpu", 2),
        ("gpu", 3),
    ]
    assert facts["resource_uuids"][:4] == [m["uuid"] for m in gpus[0]["mig_devices"]]
    assert facts["resource_uuids"][4:] == [g["uuid"] for g in gpus[1:]]
    assert facts["uuids"] == [g["uuid"] for g in gpus]  # the physical GPUs, as before
    assert facts["resources"][0]["name"] == "NVIDIA A100-SXM4-80GB MIG 1g.20gb"
    assert facts["resources"][0]["profile_memory_gb"] == 20
    assert facts["mig_gpus_without_devices"] == []


MIG_QUERY = "0, GPU-932bfb2c-849a-2a22-1e84-9eff6bc02b39, NVIDIA A100 80GB PCIe, 81920, 530.30.02, %s, %s\n"


@pytest.mark.parametrize(
    ("current", "pending", "listing", "resources", "without"),
    [
        # MIG on, two devices: the devices are the resources, not the GPU
        ("Enabled", "Enabled", "nvidia_smi_a100_pcie_mig_list.txt",
         ["MIG-0929581a-2be6-5dec-bf34-0954c6c529a6", "MIG-3adbed3a-d03d-549f-a016-ba1fd7359f23"], []),
        # MIG on, no device made yet: nothing to offer, and the fact says which GPU
        ("Enabled", "Enabled", None, [], [0]),
        # MIG off (devices listed by a stale listing are not offered): the whole GPU
        ("Disabled", "Disabled", "nvidia_smi_a100_pcie_mig_list.txt",
         ["GPU-932bfb2c-849a-2a22-1e84-9eff6bc02b39"], []),
        # MIG asked for but not active until the GPU is reset: still the whole GPU
        ("Disabled", "Enabled", None, ["GPU-932bfb2c-849a-2a22-1e84-9eff6bc02b39"], []),
    ],
)  # fmt: skip
def test_what_a_host_offers_follows_the_mig_mode(current, pending, listing, resources, without):
    text = (
        sample(listing)
        if listing
        else "GPU 0: NVIDIA A100 80GB PCIe (UUID: GPU-932bfb2c-849a-2a22-1e84-9eff6bc02b39)\n"
    )
    facts = _gpu.build_facts(query=MIG_QUERY % (current, pending), listing=text, header="",
                             binary="/usr/bin/nvidia-smi")  # fmt: skip
    assert facts["resource_uuids"] == resources
    assert facts["mig_gpus_without_devices"] == without
    gpu = facts["gpus"][0]
    assert (gpu["mig_mode"], gpu["mig_mode_pending"]) == (current.lower(), pending.lower())
    assert facts["uuids"] == ["GPU-932bfb2c-849a-2a22-1e84-9eff6bc02b39"]
    assert _gpu.generic_resources(facts["resource_uuids"]) == ["NVIDIA-GPU=" + u for u in resources]


def test_mig_uuids_of_drivers_before_470():
    listing = (
        "GPU 0: A100-SXM4-40GB (UUID: GPU-2e4159a0-dab5-1747-e7b7-b3396fab58b4)\n"
        "  MIG 3g.20gb Device 0: (UUID: MIG-GPU-2e4159a0-dab5-1747-e7b7-b3396fab58b4/1/0)\n"
        "  MIG 3g.20gb Device 1: (UUID: MIG-GPU-2e4159a0-dab5-1747-e7b7-b3396fab58b4/2/0)\n"
    )
    devices = _gpu.parse_list(listing)[0]["mig_devices"]
    assert [d["uuid"] for d in devices] == [
        "MIG-GPU-2e4159a0-dab5-1747-e7b7-b3396fab58b4/1/0",
        "MIG-GPU-2e4159a0-dab5-1747-e7b7-b3396fab58b4/2/0",
    ]
    assert [d["index"] for d in devices] == [0, 1]


def test_recorded_header_versions():
    assert _gpu.parse_header(sample("nvidia_smi_quadro_header.txt")) == ("535.129.03", "12.2")
    assert [g["name"] for g in _gpu.parse_list(sample("nvidia_smi_quadro_list.txt"))] == [
        "Quadro RTX 4000"
    ] * 2


def test_driver_not_loaded_is_zero_gpus_not_a_failure():
    message = sample("nvidia_smi_driver_not_loaded.txt").strip()
    facts = _gpu.build_facts(binary="/usr/bin/nvidia-smi", error="nvidia-smi -L exited 9: " + message)
    assert facts["count"] == 0 and facts["driver_loaded"] is False
    assert "couldn't communicate with the NVIDIA driver" in facts["error"]


def test_no_nvidia_smi():
    facts = _gpu.build_facts()
    assert facts["count"] == 0 and facts["nvidia_smi"] is None and facts["error"] is None
    assert facts["resources"] == [] and facts["resource_uuids"] == []


def test_unexpected_query_output_is_an_error():
    with pytest.raises(ValueError, match="unexpected nvidia-smi query line"):
        _gpu.parse_query("0, GPU-x, name\n")


# --- the module, with container_cli, on the lab's stand-ins (lab/nvidia-standin reproduces the
# recorded nvidia-smi and nvidia-container-cli 1.18.1 outputs and exit codes) ----------------------

STANDIN = Path(__file__).resolve().parents[3] / "lab" / "nvidia-standin"


def _tools(tmp_path, monkeypatch, names, gpus):
    """A PATH with these stand-ins (wrappers that run them), and the stand-ins' root with or
    without the file that gives them GPUs."""
    bindir, root = tmp_path / "bin", tmp_path / "root"
    bindir.mkdir()
    (root / "etc").mkdir(parents=True)
    for name in names:
        wrapper = bindir / name
        wrapper.write_text('#!/bin/sh\nexec "%s" "%s" "$@"\n' % (sys.executable, STANDIN / name))
        wrapper.chmod(0o755)
    if gpus:
        (root / "etc" / "lab-gpus.json").write_text(
            json.dumps({"model": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "driver": "550.127.05",
                        "cuda": "12.4", "uuids": ["GPU-3f2a8c1e-5b7d-4e90-a1c2-7d1e0a4b5c60"]})
        )  # fmt: skip
    monkeypatch.setenv("PATH", "%s:/usr/bin:/bin" % bindir)
    monkeypatch.setenv("NVIDIA_STANDIN_ROOT", str(root))


def _facts(**args):
    with patch_module_args(args), pytest.raises(Exit) as done:
        gpu_facts.main()
    assert done.value.args[0]["changed"] is False
    return done.value.args[0]["ansible_facts"]["gpu"]


@pytest.mark.usefixtures("ansible_exits")
@pytest.mark.parametrize(
    "names, gpus, args, expected",
    [
        # GPUs and the toolkit: its check passes in the same run
        (["nvidia-smi", "nvidia-container-cli"], True, {"container_cli": True}, {"ok": True, "error": None}),
        # not asked: no check
        (["nvidia-smi", "nvidia-container-cli"], True, {}, None),
        # GPUs without the toolkit: reported, not a failure
        (["nvidia-smi"], True, {"container_cli": True},
         {"path": None, "ok": False, "error": "nvidia-container-cli is not installed"}),
        # no GPU: nothing to check
        (["nvidia-smi", "nvidia-container-cli"], False, {"container_cli": True}, None),
    ],
)  # fmt: skip
def test_container_cli_check(tmp_path, monkeypatch, names, gpus, args, expected):
    _tools(tmp_path, monkeypatch, names, gpus)
    facts = _facts(**args)
    assert facts["count"] == (1 if gpus else 0)
    if expected is None:
        assert facts["container_cli"] is None
    else:
        assert {k: facts["container_cli"][k] for k in expected} == expected
        if "nvidia-container-cli" in names:
            assert facts["container_cli"]["path"] == str(tmp_path / "bin" / "nvidia-container-cli")


def test_a_failing_container_cli_is_named_with_its_output():
    verdict = _gpu.container_cli_verdict(
        "/usr/bin/nvidia-container-cli",
        1,
        "",
        "nvidia-container-cli: initialization error: nvml error: driver not loaded\n",
    )
    assert verdict == {
        "path": "/usr/bin/nvidia-container-cli",
        "ok": False,
        "error": "nvidia-container-cli info exited 1: nvidia-container-cli: initialization error: nvml error: driver not loaded",
    }
