# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: what Docker Swarm needs from the kernel, and whether
this host's kernel has it. No Ansible import: the host is reached through three small
callables (read a file, test a path, run a command), so pytest drives it with recordings.

Evidence is functional where a file proves nothing: a VXLAN link is created and deleted
in the host's own network namespace; an ESP state with the AEAD Swarm's encrypted
overlays use is added and deleted (``/sys/module`` lacks built-in modules without
parameters, and ``/proc/crypto`` lists templates only once used).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

FEATURES = ("ipvs", "vxlan", "esp", "br_netfilter", "overlay")

# feature: (kernel modules to load, what breaks without it, the fix)
REQUIREMENTS = {
    "ipvs": (
        ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"],
        "the routing mesh and VIP load balancing (published ports and service VIPs do not answer)",
        "load ip_vs (modprobe ip_vs, and list it in /etc/modules-load.d), or use a kernel built with"
        " CONFIG_IP_VS; in a lab without it set swarm_profile=lab (dnsrr endpoints, host-mode ports)",
    ),
    "vxlan": (
        ["vxlan"],
        "overlay networks (containers on different nodes cannot reach each other)",
        "load vxlan (modprobe vxlan) or use a kernel built with CONFIG_VXLAN",
    ),
    "esp": (
        ["esp4", "xfrm_user", "xfrm_algo"],
        "encrypted overlay networks (--opt encrypted: traffic between nodes times out)",
        "load esp4 and the AES-GCM crypto (modprobe esp4; CONFIG_CRYPTO_GCM), or run unencrypted"
        " overlays on a trusted private network (swarm_profile=lab records that choice)",
    ),
    "br_netfilter": (
        ["br_netfilter"],
        "iptables filtering of bridged container traffic (service isolation and NAT on bridges)",
        "load br_netfilter (modprobe br_netfilter, and list it in /etc/modules-load.d)",
    ),
    "overlay": (
        ["overlay"],
        "the overlay2 storage driver (Docker falls back to a slow driver or fails to start)",
        "load overlay (modprobe overlay) or use a kernel built with CONFIG_OVERLAY_FS",
    ),
}

PROBE_LINK = "lswarmprobe0"
PROBE_AEAD_KEY = "0x" + "11" * 20  # 16-byte AES key + 4-byte salt, a throwaway value


class Host:
    """The three ways the checks look at a host; the module passes real ones."""

    def __init__(
        self,
        read: Callable[[str], Optional[str]],
        exists: Callable[[str], bool],
        run: Callable[[List[str]], Tuple[int, str, str]],
    ) -> None:
        self.read = read  # path -> str or None
        self.exists = exists  # path -> bool
        self.run = run  # argv -> (rc, stdout, stderr)


def _module_loaded(host: Host, name: str) -> bool:
    modules = host.read("/proc/modules") or ""
    return any(line.split(" ", 1)[0] == name for line in modules.splitlines())


def load_modules(host: Host, feature: str, check_mode: bool = False) -> Tuple[List[str], List[str]]:
    """modprobe the feature's modules that are not loaded. Returns (loaded, attempted)."""
    loaded, attempted = [], []
    if not host.exists("/sbin/modprobe") and not host.exists("/usr/sbin/modprobe"):
        return loaded, attempted
    for name in REQUIREMENTS[feature][0]:
        if _module_loaded(host, name) or host.exists("/sys/module/%s" % name):
            continue
        attempted.append(name)
        if check_mode:
            continue
        rc, _out, _err = host.run(["modprobe", name])
        if rc == 0 and _module_loaded(host, name):
            loaded.append(name)
    return loaded, attempted


def probe_ipvs(host: Host, functional: bool = True) -> Tuple[bool, str]:
    if host.exists("/proc/net/ip_vs") or host.exists("/proc/sys/net/ipv4/vs"):
        return True, "/proc/net/ip_vs present"
    return False, "no /proc/net/ip_vs nor /proc/sys/net/ipv4/vs"


def probe_vxlan(host: Host, functional: bool = True) -> Tuple[bool, str]:
    if not functional:
        if host.exists("/sys/module/vxlan"):
            return True, "/sys/module/vxlan present"
        return False, "no /sys/module/vxlan (functional probe disabled)"
    rc, _out, err = host.run(
        ["ip", "link", "add", PROBE_LINK, "type", "vxlan", "id", "4242", "dstport", "4789"]
    )
    if rc == 0:
        host.run(["ip", "link", "del", PROBE_LINK])
        return True, "created and deleted a VXLAN link"
    return False, "cannot create a VXLAN link: %s" % (err.strip() or "rc %d" % rc)


def probe_esp(host: Host, functional: bool = True) -> Tuple[bool, str]:
    if not functional:
        if host.exists("/sys/module/esp4"):
            return True, "/sys/module/esp4 present"
        return False, "no /sys/module/esp4 (functional probe disabled)"
    # the probe state's selector (documentation addresses), the same for its add and delete
    selector = ["src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "spi", "0x4c535750"]
    add = [
        "ip",
        "xfrm",
        "state",
        "add",
        *selector,
        "reqid",
        "4242",
        "mode",
        "transport",
        "aead",
        "rfc4106(gcm(aes))",
        PROBE_AEAD_KEY,
        "128",
    ]
    rc, _out, err = host.run(add)
    if rc == 0:
        host.run(["ip", "xfrm", "state", "delete", *selector])
        return True, "added and deleted an ESP state with rfc4106(gcm(aes))"
    return False, "cannot add an ESP state with rfc4106(gcm(aes)): %s" % (err.strip() or "rc %d" % rc)


def probe_br_netfilter(host: Host, functional: bool = True) -> Tuple[bool, str]:
    if host.exists("/proc/sys/net/bridge/bridge-nf-call-iptables"):
        return True, "/proc/sys/net/bridge/bridge-nf-call-iptables present"
    return False, "no /proc/sys/net/bridge/bridge-nf-call-iptables"


def probe_overlay(host: Host, functional: bool = True) -> Tuple[bool, str]:
    filesystems = host.read("/proc/filesystems") or ""
    if any(line.split()[-1:] == ["overlay"] for line in filesystems.splitlines()):
        return True, "overlay in /proc/filesystems"
    return False, "overlay not in /proc/filesystems"


PROBES = {
    "ipvs": probe_ipvs,
    "vxlan": probe_vxlan,
    "esp": probe_esp,
    "br_netfilter": probe_br_netfilter,
    "overlay": probe_overlay,
}


def cgroup_version(host: Host) -> int:
    return 2 if host.exists("/sys/fs/cgroup/cgroup.controllers") else 1


def inspect(
    host: Host, load: bool = True, functional: bool = True, check_mode: bool = False
) -> Tuple[Dict[str, Dict[str, Any]], List[str]]:
    """Load what can be loaded, then probe each feature. Returns (features, loaded)."""
    features, loaded_all = {}, []
    for name in FEATURES:
        loaded, attempted = load_modules(host, name, check_mode) if load else ([], [])
        present, evidence = PROBES[name](host, functional)
        loaded_all.extend(loaded)
        features[name] = {
            "present": present,
            "evidence": evidence,
            "loaded": loaded,
            "load_attempted": attempted,
        }
    return features, loaded_all


def evaluate(
    features: Mapping[str, Mapping[str, Any]], profile: str, encrypted_overlay: bool = True
) -> Tuple[List[str], List[str], Dict[str, Any]]:
    """(missing, failures, adaptations). Production: every missing required feature is a
    failure with what breaks and the fix. Lab: missing features become adaptations."""
    required = [f for f in FEATURES if f != "esp" or encrypted_overlay]
    missing = [f for f in FEATURES if not features[f]["present"]]
    failures = []
    if profile == "production":
        for name in missing:
            if name in required:
                _modules, breaks, fix = REQUIREMENTS[name]
                failures.append(
                    "%s is missing (%s). Without it: %s. Fix: %s."
                    % (name, features[name]["evidence"], breaks, fix)
                )
    ipvs = features["ipvs"]["present"]
    esp = features["esp"]["present"]
    adaptations = {
        "endpoint_mode": "vip" if ipvs else "dnsrr",
        "publish_mode": "ingress" if ipvs else "host",
        "overlay_encrypted": bool(esp and encrypted_overlay and profile == "production"),
        "reasons": [],
    }
    if not ipvs:
        adaptations["reasons"].append(
            "no IPVS: services use endpoint_mode dnsrr and host-mode published ports"
        )
    if not esp:
        adaptations["reasons"].append("no ESP crypto: overlay networks are not encrypted")
    elif profile != "production":
        adaptations["reasons"].append("lab profile: overlay networks are not encrypted")
    return missing, failures, adaptations
