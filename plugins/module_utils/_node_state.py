# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The logic of the node_state module: one read of a host's packages, services, files and kernel
parameters, and for each file the verdict a write task would reach (``ok``: already as wanted),
so a role runs its write tasks only where something differs.

Each verdict errs towards "differs": a task that runs needlessly reports no change and costs
a module run; a task skipped wrongly would leave drift. The rules follow the modules whose work
they predict: copy (whole content), lineinfile (a line that a regexp's last match must equal),
blockinfile (the marked block) and the file attributes mode, owner and group."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import ipaddress
import json
import os
import pwd
import re

# a package name the gate can judge (apt also takes name=version, globs and .deb paths: those
# always go to apt)
PLAIN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
# what the node returns of a file it reads in full
READ_LIMIT = 1024 * 1024


def parse_dpkg(output):
    """{package: version} of the packages `dpkg-query -W -f '${Package}\\t${Status}\\t${Version}\\n'`
    lists as installed (status ``install ok installed``)."""
    found = {}
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1].strip() == "install ok installed":
            found[parts[0].split(":")[0]] = parts[2]
    return found


def packages_missing(wanted, installed):
    """The packages of ``wanted`` apt would still have to look at: not installed, or not a plain
    name (a version, a glob, a file)."""
    return [p for p in wanted if not PLAIN_PACKAGE.match(p) or p not in installed]


def parse_systemctl_show(output, units):
    """{unit: {active, enabled, exists}} from `systemctl show -p Id,LoadState,ActiveState,
    UnitFileState <units...>` (one block of Key=Value lines a unit, in the order asked)."""
    blocks = [b for b in re.split(r"\n\s*\n", output.strip()) if b.strip()] if output.strip() else []
    out = {}
    for i, unit in enumerate(units[: len(blocks)]):
        block = blocks[i]
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        out[unit] = {
            "exists": props.get("LoadState") == "loaded",
            "active": props.get("ActiveState") == "active",
            "enabled": props.get("UnitFileState") in ("enabled", "enabled-runtime", "static", "alias"),
        }
    for unit in units:
        out.setdefault(unit, {"exists": False, "active": False, "enabled": False})
    return out


def normalize_sysctl(value):
    """A kernel parameter's value as sysctl compares it: whitespace runs collapsed."""
    return " ".join(str(value).split())


def sysctl_file_values(text):
    """{key: value} a sysctl.d file sets (the last setting of a key wins; # and ; comment)."""
    values = {}
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip().replace("/", ".")] = normalize_sysctl(value)
    return values


def sysctls_to_set(wanted, live, file_text):
    """The keys of ``wanted`` ({key: value}) whose live value (``live``: {key: value or None})
    or whose setting in the sysctl file differs."""
    in_file = sysctl_file_values(file_text)
    out = []
    for key, value in wanted.items():
        want = normalize_sysctl(value)
        if live.get(key) is None or normalize_sysctl(live[key]) != want or in_file.get(key) != want:
            out.append(key)
    return out


def proc_sys_path(key):
    return "/proc/sys/" + key.replace(".", "/")


def attributes_ok(stat, spec):
    """Whether an existing file's mode, owner and group are those the spec asks for (a key the
    spec leaves out is not checked)."""
    mode = str(spec.get("mode") or "")
    if mode and (not re.match(r"^0?[0-7]{3,4}$", mode) or stat["mode"] != "%04o" % int(mode, 8)):
        return False  # a symbolic mode is left to the write task
    for key in ("owner", "group"):
        if spec.get(key) and str(spec[key]) not in (stat[key], str(stat[key + "_id"])):
            return False
    return True


def line_ok(text, regexp, line):
    """lineinfile's verdict (state present, a regexp): the last line the regexp matches is the
    line; without a match, the line is present as it is. Lines end at \\n only, as lineinfile
    reads them; a file with \\r in it is left to lineinfile."""
    if "\r" in text:
        return False
    lines = text.split("\n")
    matches = [candidate for candidate in lines if re.search(regexp, candidate)]
    if matches:
        return matches[-1] == line
    return line in lines


def block_text(block, marker):
    """The lines blockinfile writes for ``block`` between its BEGIN and END markers."""
    body = block if not block or block.endswith("\n") else block + "\n"
    return "%s\n%s%s\n" % (marker.replace("{mark}", "BEGIN"), body, marker.replace("{mark}", "END"))


def block_ok(text, block, marker):
    """blockinfile's verdict (state present): the marked block is in the file as it would write
    it, once (an empty block means absent markers). Two blocks, a stray marker or a \\r are
    left to blockinfile."""
    begin, end = marker.replace("{mark}", "BEGIN"), marker.replace("{mark}", "END")
    if "\r" in text:
        return False
    lines = text.split("\n")
    starts = [i for i, candidate in enumerate(lines) if candidate == begin]
    ends = [i for i, candidate in enumerate(lines) if candidate == end]
    if not block:
        return not starts and not ends
    if len(starts) != 1 or len(ends) != 1:
        return False
    wanted = block_text(block, marker).split("\n")[:-1]  # the lines, without the last newline's ""
    return lines[starts[0] : ends[0] + 1] == wanted


def interface_state(rc, out, err):
    """One interface from ``ip -j addr show dev NAME``: ``exists`` (None when the command could
    not tell) and ``networks``, the networks of its IPv4 addresses and of its global IPv6 ones
    (CIDR, in order, each once; link-local addresses are no network a peer sends from)."""
    if rc != 0:
        # iproute2 says so when the name is unknown; any other failure cannot tell
        return {"exists": False if "does not exist" in (err or "") else None, "networks": []}
    try:
        links = json.loads(out or "[]")
        networks = []
        for link in links:
            for addr in link.get("addr_info", []):
                if not (
                    addr.get("family") == "inet"
                    or (addr.get("family") == "inet6" and addr.get("scope") == "global")
                ):
                    continue
                network = str(ipaddress.ip_interface("%s/%s" % (addr["local"], addr["prefixlen"])).network)
                if network not in networks:
                    networks.append(network)
    except (ValueError, KeyError, TypeError, AttributeError):
        return {"exists": None, "networks": []}
    return {"exists": bool(links), "networks": networks}


def files_differ(paths, files):
    """The paths asked about (in order, each once) whose write task has something to do."""
    out = []
    for path in paths:
        if not files[path]["ok"] and path not in out:
            out.append(path)
    return out


def file_verdict(spec, stat, text, sha256=None):
    """``ok``: the file is as the spec asks (content, line or block, and attributes), or with
    ``directory`` a directory with those attributes; a missing file is never ok."""
    if stat is None or stat["islink"]:
        return False  # a link is left to the write task, which decides whether to follow it
    if not (stat["isdir"] if spec.get("directory") else stat["isreg"]):
        return False
    if not attributes_ok(stat, spec):
        return False
    if spec.get("content") is not None:
        return text is not None and text == spec["content"]
    if spec.get("checksum"):
        return sha256 is not None and sha256 == spec["checksum"].lower()
    if text and not text.endswith("\n") and (spec.get("line") is not None or spec.get("block") is not None):
        return False  # lineinfile and blockinfile end the file with a newline
    if spec.get("line") is not None:
        regexp = spec.get("regexp") or "^%s$" % re.escape(spec["line"])
        return text is not None and line_ok(text, regexp, spec["line"])
    if spec.get("block") is not None:
        marker = spec.get("marker") or "# {mark} ANSIBLE MANAGED BLOCK"
        return text is not None and block_ok(text, spec["block"], marker)
    return True


def stat_file(path):
    """mode, owner, group (names and ids), size of a path, or None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    islink = os.path.islink(path)
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return {
        "mode": "%04o" % (st.st_mode & 0o7777),
        "owner": owner,
        "group": group,
        "owner_id": st.st_uid,
        "group_id": st.st_gid,
        "size": st.st_size,
        "isreg": os.path.isfile(path),
        "isdir": os.path.isdir(path),
        "islink": islink,
    }


def read_text(path, size):
    if size > READ_LIMIT:
        return None
    with open(path, "rb") as f:
        data = f.read(READ_LIMIT + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def file_state(spec):
    """What node_state returns for one file spec: exists, mode, owner, group, sha256, content
    (when the spec asks to read it) and ok."""
    path = spec["path"]
    stat = stat_file(path)
    out = {"exists": stat is not None, "isdir": bool(stat and stat["isdir"])}
    text = None
    if stat is not None:
        out.update({k: stat[k] for k in ("mode", "owner", "group")})
        if stat["isreg"]:
            wants = ("content", "line", "block")
            if spec.get("read") or any(spec.get(k) is not None for k in wants):
                text = read_text(path, stat["size"])
            if stat["size"] <= READ_LIMIT:
                with open(path, "rb") as f:
                    out["sha256"] = hashlib.sha256(f.read()).hexdigest()
    if spec.get("read"):
        out["content"] = text  # None for a missing file
    out["ok"] = file_verdict(spec, stat, text, out.get("sha256"))
    return out
