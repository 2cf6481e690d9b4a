# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab stand-in of NVIDIA's GPU stack (lab/nvidia-standin): each script run as a
subprocess against a temporary NVIDIA_STANDIN_ROOT, its outputs read by the collection's own
parsers, and the runtime's device selection as toolkit 1.18.1 makes it (issue #1599)."""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _gpu_facts as _gpu
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _metrics
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import (
    _nvidia_runtime_config as _nvidia_runtime,
)

REPO = Path(__file__).resolve().parents[2]
STANDIN = REPO / "lab" / "nvidia-standin"
SAMPLES = REPO / "tests" / "unit" / "plugins" / "samples"
UUIDS = ["GPU-3f2a8c1e-5b7d-4e90-a1c2-7d1e0a4b5c6%d" % i for i in range(4)]
NODE = {
    "model": "NVIDIA H100 80GB HBM3",
    "memory_mib": 81559,
    "driver": "550.127.05",
    "cuda": "12.4",
    "uuids": UUIDS,
}
SWARM = "DOCKER_RESOURCE_NVIDIA-GPU"


@pytest.fixture
def root(tmp_path):
    top = tmp_path / "root"
    (top / "etc" / "nvidia-container-runtime").mkdir(parents=True)
    shutil.copy(STANDIN / "config.toml", top / "etc" / "nvidia-container-runtime" / "config.toml")
    return top


def gpus(root, node=None):
    (root / "etc" / "lab-gpus.json").write_text(json.dumps(NODE if node is None else node))


def run(tool, root, *args, env=None, cwd=None):
    environ = {"PATH": os.environ["PATH"], "LANG": "C", "NVIDIA_STANDIN_ROOT": str(root), **(env or {})}
    return subprocess.run(
        [sys.executable, str(STANDIN / tool), *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        check=False,
    )


# --- nvidia-smi -------------------------------------------------------------------------------


def test_smi_without_gpus_is_the_driver_not_loaded_recording(root):
    out = run("nvidia-smi", root, *_gpu.QUERY_ARGS)
    assert out.returncode == 9
    assert out.stdout == (SAMPLES / "nvidia_smi_driver_not_loaded.txt").read_text()
    facts = _gpu.build_facts(binary="/usr/bin/nvidia-smi", error="exited 9: " + out.stdout)
    assert facts["count"] == 0 and facts["driver_loaded"] is False


def test_smi_outputs_make_the_gpu_facts(root):
    gpus(root)
    query, listing, header = (run("nvidia-smi", root, *args) for args in (_gpu.QUERY_ARGS, ["-L"], []))
    assert {query.returncode, listing.returncode, header.returncode} == {0}
    facts = _gpu.build_facts(
        query=query.stdout, listing=listing.stdout, header=header.stdout, binary="/usr/bin/nvidia-smi"
    )
    assert facts["count"] == 4 and facts["uuids"] == UUIDS and facts["resource_uuids"] == UUIDS
    assert facts["model"] == "NVIDIA H100 80GB HBM3" and facts["driver_loaded"] is True
    assert {g["memory_mib"] for g in facts["gpus"]} == {81559} and facts["mig_enabled"] is False
    assert facts["driver_version"] == "550.127.05" and facts["cuda_version"] == "12.4"
    assert _gpu.parse_header(header.stdout) == ("550.127.05", "12.4")


def test_smi_shapes_match_the_samples(root):
    gpus(root, dict(NODE, uuids=["GPU-3f2a8c1e-5b7d-4e90-a1c2-7d1e0a4b5c6%d" % i for i in range(8)]))
    listing = run("nvidia-smi", root, "-L").stdout
    assert listing == (SAMPLES / "nvidia_smi_h100x8_list.txt").read_text()
    query = run("nvidia-smi", root, *_gpu.QUERY_ARGS).stdout
    assert query == (SAMPLES / "nvidia_smi_h100x8_query.csv").read_text().replace("550.90.07", "550.127.05")
    table = run("nvidia-smi", root).stdout.splitlines()
    sample = (SAMPLES / "nvidia_smi_quadro_header.txt").read_text().splitlines()
    assert table[2] == sample[2].replace("535.129.03", "550.127.05").replace("12.2", "12.4")
    assert table[3:8] == sample[3:8] and table[1] == sample[1] and table[-1] == sample[1]
    assert table[8].startswith("|   0  NVIDIA H100 80GB HBM3 ") and table[9].endswith(
        "|      0%      Default |"
    )
    assert {len(line) for line in table[1:]} - {0} == {89}


def test_smi_telemetry_query_and_header_and_selection(root):
    gpus(root)
    out = run("nvidia-smi", root, *_metrics.GPU_QUERY_ARGS)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[1] == "1, %s, NVIDIA H100 80GB HBM3, 0, 0, 81559, 30, 70.00" % UUIDS[1]
    with_units = run(
        "nvidia-smi", root, "--query-gpu=index,memory.used,power.draw", "--format=csv", "-i", "2"
    )
    assert with_units.stdout == "index, memory.used [MiB], power.draw [W]\n2, 0 MiB, 70.00 W\n"


def test_smi_unknown_field_is_the_real_error(root):
    gpus(root)
    out = run("nvidia-smi", root, "--query-gpu=index,bogus", "--format=csv,noheader,nounits")
    assert out.returncode == 2 and out.stdout.startswith('Field "bogus" is not a valid field to query.')


# --- nvidia-ctk -------------------------------------------------------------------------------


def test_ctk_version_reads_as_the_real_one(root):
    out = run("nvidia-ctk", root, "--version")
    lines = out.stdout.splitlines()
    assert out.returncode == 0 and lines[0] == "NVIDIA Container Toolkit CLI version 1.18.1"
    assert lines[1].startswith("commit: ") and _nvidia_runtime.parse_version(out.stdout) == (1, 18, 1)


def test_ctk_config_prints_the_file(root):
    out = run("nvidia-ctk", root, "config")
    assert out.returncode == 0 and out.stdout == (STANDIN / "config.toml").read_text()


def test_ctk_sets_keys_in_place_as_the_module_calls_it(root):
    conf = root / "etc" / "nvidia-container-runtime" / "config.toml"
    before = tomllib.loads(conf.read_text())
    out = run(
        "nvidia-ctk", root, "config", "--in-place", "--set", "swarm-resource=" + SWARM,
        "--set", "nvidia-container-runtime.mode=legacy",
    )  # fmt: skip
    assert out.returncode == 0 and out.stdout == ""
    text = conf.read_text()
    after = tomllib.loads(text)
    assert after["swarm-resource"] == SWARM and after["nvidia-container-runtime"]["mode"] == "legacy"
    assert _nvidia_runtime.read_settings(text) == {
        "swarm-resource": SWARM,
        "nvidia-container-runtime.mode": "legacy",
    }
    # the rest survives, comments do not (the real tool rewrites the file)
    assert {k: v for k, v in after.items() if k != "swarm-resource"} == dict(
        before, **{"nvidia-container-runtime": dict(before["nvidia-container-runtime"], mode="legacy")}
    )
    assert "#" not in text and text.index("swarm-resource") < text.index("[nvidia-container-cli]")


def test_ctk_types_other_file_and_stdout(tmp_path, root):
    conf = tmp_path / "other.toml"
    conf.write_text('[nvidia-container-runtime]\nruntimes = ["runc"]\n')
    out = run(
        "nvidia-ctk", root, "config", "-c", str(conf), "--set", "disable-require=true", "--set=a.b.n=42",
        "--set", "nvidia-container-runtime.runtimes=crun,runc", "--set", 'x="quoted" \\ v',
    )  # fmt: skip
    assert out.returncode == 0 and conf.read_text() == '[nvidia-container-runtime]\nruntimes = ["runc"]\n'
    assert tomllib.loads(out.stdout) == {
        "disable-require": True,
        "x": '"quoted" \\ v',
        "a": {"b": {"n": 42}},
        "nvidia-container-runtime": {"runtimes": ["crun", "runc"]},
    }
    assert run("nvidia-ctk", root, "config", "-i", "-c", str(conf), "--set", "mode=cdi").returncode == 0
    assert tomllib.loads(conf.read_text())["mode"] == "cdi"


def test_ctk_key_without_value_fails(root):
    conf = root / "etc" / "nvidia-container-runtime" / "config.toml"
    out = run("nvidia-ctk", root, "config", "--in-place", "--set", "swarm-resource")
    assert out.returncode == 1 and "KEY=VALUE" in out.stderr
    assert conf.read_text() == (STANDIN / "config.toml").read_text()


# --- nvidia-container-runtime -------------------------------------------------------------------

FAKE_RUNC = """#!/bin/sh
printf '%%s\\n' "$@" >%s/runc-argv
"""


def runtime_setup(tmp_path, root, env, mode=None, swarm=None):
    gpus(root)
    conf = root / "etc" / "nvidia-container-runtime" / "config.toml"
    text = conf.read_text()
    if mode:
        text = text.replace('mode = "auto"', 'mode = "%s"' % mode)
    if swarm:
        text = text.replace('#swarm-resource = "DOCKER_RESOURCE_GPU"', 'swarm-resource = "%s"' % swarm)
    conf.write_text(text)
    runc = tmp_path / "bin" / "runc"
    runc.parent.mkdir()
    runc.write_text(FAKE_RUNC % runc.parent)
    runc.chmod(0o755)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    spec = {
        "ociVersion": "1.2.0",
        "process": {"args": ["sh"], "env": ["PATH=/usr/bin", *env]},
        "root": {"path": "rootfs"},
    }
    (bundle / "config.json").write_text(json.dumps(spec, indent=1))
    return runc, bundle


def create(tmp_path, root, runc, bundle, *more):
    args = ["--root", "/run/x/moby", "--log", str(tmp_path / "log.json"), "--log-format", "json",
            "--systemd-cgroup", "create", "--bundle", str(bundle), *more, "--pid-file", str(tmp_path / "pid"), "c0ffee"]  # fmt: skip
    return args, run("nvidia-container-runtime", root, *args, env={"NVIDIA_STANDIN_RUNC": str(runc)})


def argv_of(runc):
    path = runc.parent / "runc-argv"
    return path.read_text().splitlines() if path.exists() else None


def recorded(root):
    return json.loads((root / "var" / "log" / "nvidia-standin" / "c0ffee.json").read_text())


def spec_env(bundle):
    return json.loads((bundle / "config.json").read_text())["process"]["env"]


def test_runtime_legacy_honours_the_swarm_variable(tmp_path, root):
    env = [SWARM + "=" + UUIDS[2], "NVIDIA_VISIBLE_DEVICES=all"]
    runc, bundle = runtime_setup(tmp_path, root, env, mode="legacy", swarm=SWARM)
    args, out = create(tmp_path, root, runc, bundle)
    assert out.returncode == 0 and out.stdout == "" and argv_of(runc) == args
    assert spec_env(bundle)[-1] == "NVIDIA_STANDIN_DEVICES=" + UUIDS[2]
    assert recorded(root) == {
        "id": "c0ffee", "mode": "legacy", "swarm_resource": SWARM, "source": SWARM,
        "requested": UUIDS[2], "devices": [UUIDS[2]],
    }  # fmt: skip


def test_runtime_auto_on_1_18_ignores_swarm_resource_issue_1599(tmp_path, root):
    env = [SWARM + "=" + UUIDS[2], "NVIDIA_VISIBLE_DEVICES=all"]
    runc, bundle = runtime_setup(tmp_path, root, env, swarm="DOCKER_RESOURCE_GPU," + SWARM)
    args, out = create(tmp_path, root, runc, bundle)
    assert out.returncode == 0 and argv_of(runc) == args
    assert spec_env(bundle)[-1] == "NVIDIA_STANDIN_DEVICES=" + ",".join(UUIDS)
    record = recorded(root)
    assert (
        record["mode"] == "auto"
        and record["source"] == "NVIDIA_VISIBLE_DEVICES"
        and record["devices"] == UUIDS
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1,GPU-3f2a8c1e-5b7d-4e90-a1c2-7d1e0a4b5c60", [UUIDS[0], UUIDS[1]]),
        ("none", []),
        ("void", []),
        ("", []),
    ],
)
def test_runtime_device_values(tmp_path, root, value, expected):
    runc, bundle = runtime_setup(tmp_path, root, ["NVIDIA_VISIBLE_DEVICES=" + value], mode="cdi", swarm=SWARM)
    _args, out = create(tmp_path, root, runc, bundle, "--bundle=" + str(bundle))
    assert out.returncode == 0 and recorded(root)["devices"] == expected


def test_runtime_leaves_containers_without_gpus_alone(tmp_path, root):
    runc, bundle = runtime_setup(tmp_path, root, [SWARM + "=" + UUIDS[0]], swarm=SWARM)
    before = (bundle / "config.json").read_bytes()
    args, out = create(tmp_path, root, runc, bundle)
    assert out.returncode == 0 and out.stdout == "" and out.stderr == "" and argv_of(runc) == args
    assert (bundle / "config.json").read_bytes() == before
    assert not (root / "var" / "log" / "nvidia-standin").exists()


def test_runtime_unknown_device_fails_without_runc(tmp_path, root):
    runc, bundle = runtime_setup(tmp_path, root, [SWARM + "=GPU-nope"], mode="legacy", swarm=SWARM)
    before = (bundle / "config.json").read_bytes()
    _args, out = create(tmp_path, root, runc, bundle)
    assert out.returncode == 1 and out.stdout == "" and argv_of(runc) is None
    assert out.stderr == "nvidia-container-runtime: error: unknown device: GPU-nope\n"
    assert json.loads((tmp_path / "log.json").read_text())["msg"] == "unknown device: GPU-nope"
    assert (bundle / "config.json").read_bytes() == before


def test_runtime_default_bundle_is_the_working_directory(tmp_path, root):
    runc, bundle = runtime_setup(tmp_path, root, ["NVIDIA_VISIBLE_DEVICES=0"])
    out = run(
        "nvidia-container-runtime",
        root,
        "create",
        "c0ffee",
        env={"NVIDIA_STANDIN_RUNC": str(runc)},
        cwd=bundle,
    )
    assert (
        out.returncode == 0
        and argv_of(runc) == ["create", "c0ffee"]
        and recorded(root)["devices"] == [UUIDS[0]]
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--root", "/run/x", "start", "c0ffee"],
        ["delete", "--force", "c0ffee"],
        ["state", "c0ffee"],
        ["--version"],
    ],
)
def test_runtime_other_commands_pass_through(tmp_path, root, args):
    runc, bundle = runtime_setup(tmp_path, root, ["NVIDIA_VISIBLE_DEVICES=all"])
    before = (bundle / "config.json").read_bytes()
    out = run("nvidia-container-runtime", root, *args, env={"NVIDIA_STANDIN_RUNC": str(runc)}, cwd=bundle)
    assert out.returncode == 0 and argv_of(runc) == args
    assert (bundle / "config.json").read_bytes() == before
    if args == ["--version"]:  # the real runtime prints its version, then runc's
        assert _nvidia_runtime.parse_version(out.stdout) == (1, 18, 1)
    else:
        assert out.stdout == ""


def test_runtime_finds_runc_from_the_config_list(tmp_path, root):
    runc, _bundle = runtime_setup(tmp_path, root, [])
    out = subprocess.run(
        [sys.executable, str(STANDIN / "nvidia-container-runtime"), "state", "x"],
        env={"PATH": str(runc.parent), "NVIDIA_STANDIN_ROOT": str(root)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0 and argv_of(runc) == ["state", "x"]
    missing = subprocess.run(
        [sys.executable, str(STANDIN / "nvidia-container-runtime"), "state", "x"],
        env={"PATH": str(tmp_path / "none"), "NVIDIA_STANDIN_ROOT": str(root)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert missing.returncode == 1 and "no runtime binary found" in missing.stderr


# --- nvidia-container-cli -----------------------------------------------------------------------


def test_cli_info_and_version(root):
    missing = run("nvidia-container-cli", root, "info")
    assert missing.returncode == 1
    assert missing.stderr == "nvidia-container-cli: initialization error: nvml error: driver not loaded\n"
    gpus(root)
    out = run("nvidia-container-cli", root, "--load-kmods", "info")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[:2] == ["NVRM version:   550.127.05", "CUDA version:   12.4"]
    assert [line.split(":", 1)[1].strip() for line in lines if line.startswith("GPU UUID:")] == UUIDS
    assert "Model:          NVIDIA H100 80GB HBM3" in lines and "Architecture:   9.0" in lines
    assert run("nvidia-container-cli", root, "--version").stdout.splitlines()[0] == "cli-version: 1.18.1"


# --- the package --------------------------------------------------------------------------------


def test_scripts_say_they_are_stand_ins():
    for tool in ("nvidia-smi", "nvidia-ctk", "nvidia-container-runtime", "nvidia-container-cli"):
        path = STANDIN / tool
        text = path.read_text()
        # no interpreter line in the source (build-deb.sh adds Debian's python3 to the installed tool)
        assert text.startswith("# Copyright: ") and not os.access(path, os.X_OK)
        assert "stand-in" in text.split('"""')[1]


@pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="needs dpkg-deb")
def test_build_deb(tmp_path):
    out = subprocess.run(
        ["bash", str(STANDIN / "build-deb.sh"), str(tmp_path)], capture_output=True, text=True, check=True
    )
    deb = Path(out.stdout.strip())
    assert deb == tmp_path / "nvidia-container-toolkit_1.18.1-0lab1_all.deb"
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    for path in ("./usr/bin/nvidia-smi", "./usr/bin/nvidia-ctk", "./usr/bin/nvidia-container-runtime",
                 "./usr/bin/nvidia-container-cli", "./etc/nvidia-container-runtime/config.toml"):  # fmt: skip
        assert path in listing
    assert "root/root" in listing and "-rwxr-xr-x root/root" in listing
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "Architecture: all" in fields and "Depends: python3" in fields and "lab stand-in" in fields
    conffiles = subprocess.run(
        ["dpkg-deb", "--info", str(deb), "conffiles"], capture_output=True, text=True, check=False
    ).stdout
    assert conffiles.strip() == "/etc/nvidia-container-runtime/config.toml"
    installed = subprocess.run(
        ["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(installed)) as tar:
        smi = tar.extractfile("./usr/bin/nvidia-smi").read().decode()
    assert smi == "#!/usr/bin/python3\n" + (STANDIN / "nvidia-smi").read_text()
    again = subprocess.run(
        ["bash", str(STANDIN / "build-deb.sh"), str(tmp_path / "again")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(again.stdout.strip()).read_bytes() == deb.read_bytes()
