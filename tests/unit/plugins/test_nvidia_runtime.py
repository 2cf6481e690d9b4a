"""nvidia_runtime_config: which settings make the NVIDIA runtime honour Swarm's GPU assignment,
on which toolkit version, and how the file is edited.

The default config.toml below is the shape NVIDIA's toolkit packages install (keys commented
out at the top, one table per component); it is written from that layout, not recorded. The
module runs are against a small fake ``nvidia-ctk`` (a shell script that records its argv and
writes the keys it is given), since the real toolkit cannot be installed here."""

import os
import stat
import tomllib

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sophia.lambda_swarm.plugins.filter.docker import nvidia_runtime_config_differs
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _nvidia_runtime_config as nr
from ansible_collections.sophia.lambda_swarm.plugins.modules import nvidia_runtime_config
from module_harness import Exit, Fail

pytestmark = pytest.mark.usefixtures("ansible_exits")

DEFAULT_TOML = """\
#accept-nvidia-visible-devices-as-volume-mounts = false
disable-require = false
supported-driver-capabilities = "compat32,compute,display,graphics,ngx,utility,video"
#swarm-resource = "DOCKER_RESOURCE_GPU"

[nvidia-container-cli]
environment = []
ldconfig = "@/sbin/ldconfig.real"
load-kmods = true

[nvidia-container-runtime]
log-level = "info"
mode = "auto"
runtimes = ["docker-runc", "runc", "crun"]

[nvidia-container-runtime.modes.cdi]
default-kind = "nvidia.com/gpu"
"""


def test_swarm_variable_is_the_kind_upper_cased():
    assert nr.swarm_variable("NVIDIA-GPU") == "DOCKER_RESOURCE_NVIDIA-GPU"
    assert nr.swarm_variable("gpu") == "DOCKER_RESOURCE_GPU"


@pytest.mark.parametrize(
    "text, version",
    [
        ("NVIDIA Container Toolkit CLI version 1.18.1\ncommit: 0a1b2c3\n", (1, 18, 1)),
        ("NVIDIA Container Runtime version 1.14.3\ncommit: abc\nspec: 1.1.0-rc.2\n", (1, 14, 3)),
        ("runc version 1.1.12\ncommit: v1.1.12-0-g51d5e94", None),  # not the toolkit's
        ("", None),
        ("nvidia-ctk: command not found", None),
    ],
)
def test_versions_are_read_from_either_tool(text, version):
    assert nr.parse_version(text) == version


def test_settings_are_read_only_where_they_count():
    found = nr.read_settings(DEFAULT_TOML)
    assert found == {"swarm-resource": None, "nvidia-container-runtime.mode": "auto"}
    edited = DEFAULT_TOML.replace('#swarm-resource = "DOCKER_RESOURCE_GPU"', "swarm-resource = 'A,B'  # two")
    assert nr.read_settings(edited)["swarm-resource"] == "A,B"
    # a mode key in another table is not the runtime's mode
    other = '[nvidia-container-runtime.modes.csv]\nmode = "x"\n'
    assert nr.read_settings(other)["nvidia-container-runtime.mode"] is None


@pytest.mark.parametrize(
    "mode, version, honours",
    [
        (None, (1, 17, 8), True),  # auto is legacy before 1.18
        ("auto", (1, 18, 0), False),  # auto is jit-cdi from 1.18, which ignored Swarm (issue 1599)
        ("auto", (1, 18, 1), False),
        ("auto", (1, 19, 0), True),
        ("jit-cdi", (1, 18, 1), False),
        ("jit-cdi", (1, 19, 0), True),
        ("legacy", (1, 18, 1), True),
        ("cdi", (1, 19, 2), False),
        ("csv", (1, 17, 0), False),
    ],
)
def test_which_mode_honours_swarm_on_which_toolkit(mode, version, honours):
    assert nr.honours_swarm(mode, version) is honours


def test_plan_on_1_18_sets_the_variable_and_legacy_mode():
    current = nr.read_settings(DEFAULT_TOML)
    assert nr.plan((1, 18, 1), current, "NVIDIA-GPU") == {
        "swarm-resource": "DOCKER_RESOURCE_NVIDIA-GPU",
        "nvidia-container-runtime.mode": "legacy",
    }


def test_plan_keeps_names_already_there_and_a_mode_that_works():
    current = {"swarm-resource": "DOCKER_RESOURCE_GPU", "nvidia-container-runtime.mode": "auto"}
    assert nr.plan((1, 17, 8), current, "NVIDIA-GPU") == {
        "swarm-resource": "DOCKER_RESOURCE_GPU,DOCKER_RESOURCE_NVIDIA-GPU"
    }
    done = {
        "swarm-resource": "DOCKER_RESOURCE_GPU, DOCKER_RESOURCE_NVIDIA-GPU",
        "nvidia-container-runtime.mode": None,
    }
    assert nr.plan((1, 19, 0), done, "NVIDIA-GPU") == {}


def test_a_mode_that_cannot_work_names_the_version_and_the_fix():
    with pytest.raises(nr.RuntimeConfigError) as err:
        nr.plan(
            (1, 18, 1),
            {"swarm-resource": None, "nvidia-container-runtime.mode": None},
            "NVIDIA-GPU",
            "jit-cdi",
        )
    assert "toolkit 1.18.1 in mode 'jit-cdi' ignores Swarm's GPU assignment" in str(err.value)
    assert "set mode (docker_gpu_runtime_mode) to legacy, or auto on toolkit 1.19.0 or later" in str(
        err.value
    )
    with pytest.raises(nr.RuntimeConfigError, match="cannot tell the NVIDIA container toolkit's version"):
        nr.plan(None, {}, "NVIDIA-GPU")


def test_an_explicit_mode_that_works_is_written():
    current = {"swarm-resource": "DOCKER_RESOURCE_NVIDIA-GPU", "nvidia-container-runtime.mode": "legacy"}
    assert nr.plan((1, 19, 1), current, "NVIDIA-GPU", "auto") == {"nvidia-container-runtime.mode": "auto"}


def test_edit_text_replaces_the_commented_default_and_keeps_every_other_line():
    wanted = {"swarm-resource": "DOCKER_RESOURCE_NVIDIA-GPU", "nvidia-container-runtime.mode": "legacy"}
    edited = nr.edit_text(DEFAULT_TOML, wanted)
    assert nr.read_settings(edited) == wanted
    before, after = DEFAULT_TOML.splitlines(), edited.splitlines()
    assert len(before) == len(after)
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert changed == [('#swarm-resource = "DOCKER_RESOURCE_GPU"', 'swarm-resource = "DOCKER_RESOURCE_NVIDIA-GPU"'),
                       ('mode = "auto"', 'mode = "legacy"')]  # fmt: skip


def test_edit_text_adds_missing_keys_in_the_right_place():
    text = "[nvidia-container-cli]\nload-kmods = true\n"
    wanted = {"swarm-resource": "DOCKER_RESOURCE_NVIDIA-GPU", "nvidia-container-runtime.mode": "legacy"}
    edited = nr.edit_text(text, wanted)
    assert edited.startswith('swarm-resource = "DOCKER_RESOURCE_NVIDIA-GPU"\n[nvidia-container-cli]\n')
    assert edited.endswith('[nvidia-container-runtime]\n  mode = "legacy"\n')
    assert nr.read_settings(edited) == wanted
    assert nr.read_settings(nr.edit_text("", wanted)) == wanted


# --- the module, with a fake nvidia-ctk -------------------------------------------------


FAKE_CTK = """#!/bin/sh
# fake nvidia-ctk: --version like the real one; config --in-place [--config-file F] --set k=v (sed)
echo "$@" >>"$(dirname "$0")/calls"
if [ "$1" = --version ]; then echo "NVIDIA Container Toolkit CLI version %s"; echo "commit: fake"; exit 0; fi
conf=%s
while [ $# -gt 0 ]; do
  case $1 in
    --config-file) conf=$2; shift 2 ;;
    --set)
      key=${2%%%%=*}; value=${2#*=}
      case $key in
        swarm-resource) sed -i "s|^#*swarm-resource = .*|swarm-resource = \\"$value\\"|" "$conf" ;;
        nvidia-container-runtime.mode) sed -i "s|^mode = .*|mode = \\"$value\\"|" "$conf" ;;
      esac
      shift 2 ;;
    *) shift ;;
  esac
done
"""


def fake_toolkit(tmp_path, version="1.18.1"):
    conf = tmp_path / "config.toml"
    conf.write_text(DEFAULT_TOML)
    ctk = tmp_path / "nvidia-ctk"
    ctk.write_text(FAKE_CTK % (version, conf))
    ctk.chmod(ctk.stat().st_mode | stat.S_IEXEC)
    return conf, ctk


def run(args):
    with patch_module_args(args):
        nvidia_runtime_config.main()


def test_module_writes_key_by_key_with_nvidia_ctk_then_changes_nothing(tmp_path, monkeypatch):
    conf, ctk = fake_toolkit(tmp_path)
    monkeypatch.setattr(nr, "DEFAULT_PATH", str(conf))
    monkeypatch.setattr(nvidia_runtime_config, "DEFAULT_PATH", str(conf))
    with pytest.raises(Exit) as first:
        run({"path": str(conf), "nvidia_ctk": str(ctk)})
    out = first.value.args[0]
    assert out["changed"] is True and out["toolkit_version"] == "1.18.1"
    assert out["swarm_resource"] == "DOCKER_RESOURCE_NVIDIA-GPU" and out["mode"] == "legacy"
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[-1] == ("config --in-place --set swarm-resource=DOCKER_RESOURCE_NVIDIA-GPU"
                         " --set nvidia-container-runtime.mode=legacy")  # fmt: skip
    assert "[nvidia-container-cli]" in conf.read_text()  # the rest of the file is the tool's business
    with pytest.raises(Exit) as second:
        run({"path": str(conf), "nvidia_ctk": str(ctk)})
    assert second.value.args[0]["changed"] is False and second.value.args[0]["changed_keys"] == []


def test_module_check_mode_writes_nothing_and_fails_before_writing(tmp_path):
    conf, ctk = fake_toolkit(tmp_path)
    with pytest.raises(Exit) as checked:
        run({"path": str(conf), "nvidia_ctk": str(ctk), "_ansible_check_mode": True, "_ansible_diff": True})
    out = checked.value.args[0]
    assert out["changed"] is True and out["changed_keys"] == [
        "nvidia-container-runtime.mode",
        "swarm-resource",
    ]
    assert out["diff"]["before"] == "swarm-resource = (not set)\nnvidia-container-runtime.mode = auto\n"
    assert conf.read_text() == DEFAULT_TOML
    with pytest.raises(Fail) as refused:
        run({"path": str(conf), "nvidia_ctk": str(ctk), "mode": "cdi"})
    assert "toolkit 1.18.1 in mode 'cdi' ignores Swarm's GPU assignment" in refused.value.args[0]["msg"]
    assert conf.read_text() == DEFAULT_TOML


def test_module_without_nvidia_ctk_edits_the_two_lines(tmp_path, monkeypatch):
    conf = tmp_path / "config.toml"
    conf.write_text(DEFAULT_TOML)
    runtime = tmp_path / "nvidia-container-runtime"
    runtime.write_text("#!/bin/sh\necho 'NVIDIA Container Runtime version 1.10.0'\n")
    runtime.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + "/usr/bin:/bin")
    with pytest.raises(Exit) as done:
        run({"path": str(conf)})
    out = done.value.args[0]
    assert out["changed"] is True and out["toolkit_version"] == "1.10.0" and out["mode"] == "auto"
    assert conf.read_text() == DEFAULT_TOML.replace(
        '#swarm-resource = "DOCKER_RESOURCE_GPU"', 'swarm-resource = "DOCKER_RESOURCE_NVIDIA-GPU"'
    )


def test_edit_text_replaces_a_dotted_top_level_key_instead_of_adding_its_table():
    text = 'nvidia-container-runtime.mode = "cdi"\n\n[nvidia-container-cli]\nload-kmods = true\n'
    edited = nr.edit_text(text, {"nvidia-container-runtime.mode": "legacy"})
    assert edited == 'nvidia-container-runtime.mode = "legacy"\n\n[nvidia-container-cli]\nload-kmods = true\n'
    tomllib.loads(edited)  # a second [nvidia-container-runtime] table would not load


def test_old_nvidia_ctk_without_config_set_gets_the_lines_edited(tmp_path):
    conf, ctk = fake_toolkit(tmp_path, version="1.13.5")
    with pytest.raises(Exit) as done:
        run({"path": str(conf), "nvidia_ctk": str(ctk)})
    assert done.value.args[0]["changed"] is True and done.value.args[0]["toolkit_version"] == "1.13.5"
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == ["--version"]  # nvidia-ctk 1.13 has no `config --set`: not called for it
    assert nr.read_settings(conf.read_text())["swarm-resource"] == "DOCKER_RESOURCE_NVIDIA-GPU"


# --- the filter the docker role skips the module with -----------------------------------

LEGACY_TOML = DEFAULT_TOML.replace(
    '#swarm-resource = "DOCKER_RESOURCE_GPU"', 'swarm-resource = "DOCKER_RESOURCE_NVIDIA-GPU"'
).replace('mode = "auto"', 'mode = "legacy"')


@pytest.mark.parametrize(
    "text, ctk_version, package_version, mode",
    [
        (DEFAULT_TOML, "1.18.1", "1.18.1-1", None),  # as installed: both keys to write
        (LEGACY_TOML, "1.18.1", "1.18.1-1", None),  # as the module leaves it: nothing
        (LEGACY_TOML, "1.18.1", "1.18.1-0lab1", None),  # the lab stand-in's package
        (
            LEGACY_TOML.replace('mode = "legacy"', 'mode = "auto"'),
            "1.18.1",
            "1.18.1-1",
            None,
        ),  # auto is jit-cdi
        (
            LEGACY_TOML.replace('mode = "legacy"', 'mode = "auto"'),
            "1.19.0",
            "1.19.0-1",
            None,
        ),  # reads swarm-resource
        (
            LEGACY_TOML.replace('mode = "legacy"', 'mode = "auto"'),
            "1.14.3",
            "1.14.3-1",
            None,
        ),  # legacy by default
        (LEGACY_TOML, "1.18.1", "1.18.1-1", "legacy"),
        (LEGACY_TOML, "1.18.1", "1.18.1-1", "cdi"),  # the module refuses: it must run
        (LEGACY_TOML, "1.19.0", "1.19.0-1", "auto"),  # a mode asked for is written
    ],
)
def test_the_filter_agrees_with_the_module(tmp_path, text, ctk_version, package_version, mode):
    conf, ctk = fake_toolkit(tmp_path, ctk_version)
    conf.write_text(text)
    args = {"path": str(conf), "nvidia_ctk": str(ctk), "_ansible_check_mode": True}
    if mode:
        args["mode"] = mode
    module_would_act = None  # main() always ends in exit_json or fail_json
    try:
        run(args)
    except Exit as done:
        module_would_act = done.args[0]["changed"]
    except Fail:
        module_would_act = True
    assert module_would_act is not None
    assert nvidia_runtime_config_differs(text, package_version, "NVIDIA-GPU", mode) is module_would_act


def test_the_filter_lets_the_module_run_without_a_file_or_a_package():
    assert nvidia_runtime_config_differs(None, "1.18.1-1") is True
    assert nvidia_runtime_config_differs(LEGACY_TOML, None) is True
    assert nvidia_runtime_config_differs(LEGACY_TOML, "unknown") is True
    assert nvidia_runtime_config_differs(LEGACY_TOML, "1.18.1-1", "NVIDIA-GPU", "") is False
