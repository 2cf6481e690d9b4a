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
- nvidia_smi_driver_not_loaded.txt: the message nvidia-smi prints (exit 9) when the kernel
  driver is not loaded.
"""

from pathlib import Path

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _gpu

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
    assert _gpu.generic_resources(facts["uuids"])[0] == "NVIDIA-GPU=" + facts["uuids"][0]


def test_one_a10_with_mig_not_applicable():
    facts = _gpu.build_facts(query=sample("nvidia_smi_a10_query.csv"), listing=sample("nvidia_smi_a10_list.txt"),
                             header="", binary="/usr/bin/nvidia-smi")  # fmt: skip
    assert facts["count"] == 1 and facts["model"] == "NVIDIA A10"
    assert facts["gpus"][0]["mig_mode"] is None  # [N/A] on boards without MIG
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
        "%d, %s, NVIDIA A100-SXM4-80GB, 81920, 535.54.03, %s\n"
        % (g["index"], g["uuid"], "Enabled" if g["index"] == 0 else "Disabled")
        for g in gpus
    )
    facts = _gpu.build_facts(query=query, listing=listing, header="", binary="/usr/bin/nvidia-smi")
    assert facts["mig_enabled"] is True
    assert len(facts["gpus"][0]["mig_devices"]) == 4


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


def test_unexpected_query_output_is_an_error():
    with pytest.raises(ValueError, match="unexpected nvidia-smi query line"):
        _gpu.parse_query("0, GPU-x, name\n")
