"""kernel_preflight's logic on recorded hosts.

- LAB: what a lab node on this project's CI machine shows (Firecracker kernel 6.18, every
  driver built in, no /lib/modules, no IPVS, ESP AEAD missing), recorded on 2026-11-24 with
  the module's own probes (`ip link add ... type vxlan`, `ip xfrm state add ... aead
  rfc4106(gcm(aes))` answered "Requested AEAD algorithm not found").
- UBUNTU: a stock Ubuntu kernel where ip_vs, esp4 and br_netfilter are loadable modules not
  yet loaded (constructed: modprobe succeeds and the modules then appear in /proc/modules).
"""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _kernel_preflight as _kernel


class FakeHost(_kernel.Host):
    def __init__(self, files, paths, commands, loadable=()):
        self.files, self.paths, self.commands, self.loadable = (
            dict(files),
            set(paths),
            commands,
            set(loadable),
        )
        self.ran = []
        super().__init__(self.files.get, self.paths.__contains__, self._run)

    def _run(self, argv):
        self.ran.append(argv)
        if argv[0] == "modprobe":
            name = argv[1]
            if name in self.loadable:
                self.files["/proc/modules"] = (
                    self.files.get("/proc/modules", "") + "%s 16384 0 - Live 0x0\n" % name
                )
                if name == "ip_vs":
                    self.paths.add("/proc/net/ip_vs")
                if name == "br_netfilter":
                    self.paths.add("/proc/sys/net/bridge/bridge-nf-call-iptables")
                if name == "esp4":
                    self.commands["xfrm"] = (0, "", "")
                return 0, "", ""
            return 1, "", "modprobe: FATAL: Module %s not found" % name
        if argv[:2] == ["ip", "link"]:
            return self.commands.get("vxlan", (0, "", "")) if argv[2] == "add" else (0, "", "")
        if argv[:3] == ["ip", "xfrm", "state"]:
            return self.commands.get("xfrm", (0, "", "")) if argv[3] == "add" else (0, "", "")
        raise AssertionError(argv)


def lab_host():
    return FakeHost(
        files={"/proc/modules": "", "/proc/filesystems": "nodev\tsysfs\nnodev\toverlay\n"},
        paths={"/sys/module/vxlan", "/sys/module/overlay", "/proc/sys/net/bridge/bridge-nf-call-iptables"},
        commands={"vxlan": (0, "", ""), "xfrm": (2, "", "Error: Requested AEAD algorithm not found.\n")},
    )


def ubuntu_host():
    return FakeHost(
        files={"/proc/modules": "overlay 151552 0 - Live 0x0\nvxlan 94208 0 - Live 0x0\n",
               "/proc/filesystems": "nodev\toverlay\n"},
        paths={"/usr/sbin/modprobe", "/sys/fs/cgroup/cgroup.controllers"},
        commands={"vxlan": (0, "", ""), "xfrm": (2, "", "Error: Requested AEAD algorithm not found.\n")},
        loadable={"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "esp4", "xfrm_user", "xfrm_algo", "br_netfilter"},
    )  # fmt: skip


def test_lab_node_lacks_ipvs_and_esp():
    host = lab_host()
    features, loaded = _kernel.inspect(host)
    assert {k: v["present"] for k, v in features.items()} == {
        "ipvs": False, "vxlan": True, "esp": False, "br_netfilter": True, "overlay": True}  # fmt: skip
    assert loaded == []
    assert "Requested AEAD algorithm not found" in features["esp"]["evidence"]
    assert _kernel.cgroup_version(host) == 1
    # no modprobe on the node: nothing attempted
    assert not any(argv[0] == "modprobe" for argv in host.ran)


def test_lab_profile_records_adaptations():
    features, _loaded = _kernel.inspect(lab_host())
    missing, failures, adaptations = _kernel.evaluate(features, "lab")
    assert missing == ["ipvs", "esp"] and failures == []
    assert adaptations["endpoint_mode"] == "dnsrr" and adaptations["publish_mode"] == "host"
    assert adaptations["overlay_encrypted"] is False
    assert len(adaptations["reasons"]) == 2


def test_production_profile_fails_with_what_breaks_and_the_fix():
    features, _loaded = _kernel.inspect(lab_host())
    _missing, failures, _adaptations = _kernel.evaluate(features, "production")
    assert [f.split(" ")[0] for f in failures] == ["ipvs", "esp"]
    assert "routing mesh" in failures[0] and "modprobe ip_vs" in failures[0]
    assert "encrypted overlay" in failures[1] and "esp4" in failures[1]


def test_production_without_encryption_tolerates_missing_esp():
    features, _loaded = _kernel.inspect(lab_host())
    _missing, failures, adaptations = _kernel.evaluate(features, "production", encrypted_overlay=False)
    assert [f.split(" ")[0] for f in failures] == ["ipvs"]
    assert adaptations["overlay_encrypted"] is False


def test_loadable_modules_are_loaded_then_everything_passes():
    host = ubuntu_host()
    features, loaded = _kernel.inspect(host)
    assert set(loaded) >= {"ip_vs", "esp4", "br_netfilter"}
    assert all(f["present"] for f in features.values())
    missing, failures, adaptations = _kernel.evaluate(features, "production")
    assert (missing, failures) == ([], [])
    assert adaptations == {
        "endpoint_mode": "vip",
        "publish_mode": "ingress",
        "overlay_encrypted": True,
        "reasons": [],
    }
    assert _kernel.cgroup_version(host) == 2


def test_check_mode_loads_nothing_but_says_what_it_would():
    host = ubuntu_host()
    features, loaded = _kernel.inspect(host, check_mode=True)
    assert loaded == [] and not any(argv[0] == "modprobe" for argv in host.ran)
    assert "ip_vs" in features["ipvs"]["load_attempted"]
    assert features["ipvs"]["present"] is False


def test_probes_clean_up_after_themselves():
    host = lab_host()
    _kernel.inspect(host)
    assert ["ip", "link", "del", _kernel.PROBE_LINK] in host.ran


@pytest.mark.parametrize("feature", _kernel.FEATURES)
def test_every_feature_says_what_breaks_and_how_to_fix(feature):
    modules, breaks, fix = _kernel.REQUIREMENTS[feature]
    assert modules and breaks and fix
