# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: the logic of the lambda_cloud inventory plugin. Pure
functions, no Ansible import; the plugin does the HTTP and feeds the inventory.

What this follows, from Lambda's Cloud API reference (OpenAPI spec, API v1):
- ``GET <api_url>/instances`` with ``Authorization: Bearer <key>`` answers
  ``{"data": [instance, ...]}``: the whole list in one response (the endpoint is not paged).
- An instance has ``id``, ``name`` (nullable), ``ip`` and ``private_ip`` (nullable while it
  boots), ``status`` (booting, active, unhealthy, terminating, terminated), ``hostname``,
  ``region`` ``{name, description}`` and ``instance_type`` ``{name, description,
  gpu_description, price_cents_per_hour, specs: {vcpus, memory_gib, storage_gib, gpus}}``;
  also ``jupyter_token``/``jupyter_url``, which are credentials and never kept here.
- A failure answers ``{"error": {"code", "message", "suggestion"?}, "field_errors"?: {...}}``.
- Requests are limited to about one per second; an excess is answered 429.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import json
import re
from typing import Any, Iterable, Mapping

DEFAULT_API_URL = "https://cloud.lambda.ai/api/v1"
INSTANCES_PATH = "/instances"
STATUSES = ("booting", "active", "unhealthy", "terminating", "terminated")
# fields of an instance that grant access to it (Jupyter): dropped before anything is kept
SECRET_FIELDS = ("jupyter_token", "jupyter_url")
# a 429 is retried this many times, each wait at most MAX_WAIT seconds, all waits together
# at most MAX_TOTAL_WAIT; the API allows about one request per second
MAX_RETRIES = 4
MAX_WAIT = 30.0
MAX_TOTAL_WAIT = 60.0
MIN_WAIT = 1.0


class LambdaAPIError(Exception):
    """A failed API call, with what Lambda said about it."""

    def __init__(self, status: int, code: str, message: str, suggestion: str | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.suggestion = suggestion
        super().__init__(self.text())

    def text(self) -> str:
        line = "Lambda Cloud API error (HTTP %d) %s: %s" % (self.status, self.code, self.message)
        if self.suggestion:
            line = "%s. Suggestion: %s" % (line.rstrip(". "), self.suggestion)
        return line


class InventoryError(Exception):
    """The instances cannot become an inventory as configured."""


def instances_url(api_url: str | None) -> str:
    """``<api_url>/instances``; ``api_url`` is the API's base (``.../api/v1``)."""
    base = (api_url or DEFAULT_API_URL).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", base):
        raise InventoryError("api_url %r is not an http(s) URL" % base)
    return base + INSTANCES_PATH


def request_headers(api_key: str) -> dict[str, str]:
    return {
        "Authorization": "Bearer %s" % api_key,
        "Accept": "application/json",
        "User-Agent": "sophia.lambda_swarm-lambda_cloud-inventory",
    }


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced (defence in depth: Lambda never
    echoes the key, but a proxy in between might)."""
    if secret and len(secret) >= 4:
        return text.replace(secret, "<redacted>")
    return text


def _as_text(body: bytes | str | None) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return body


def parse_error(status: int, body: bytes | str | None, reason: str = "") -> LambdaAPIError:
    """The error of a non-2xx answer: Lambda's ``code``, ``message`` and ``suggestion`` when
    the body has its shape, else the HTTP status and the start of the body."""
    text = _as_text(body).strip()
    try:
        payload = json.loads(text) if text else None
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and error.get("code"):
        message = str(error.get("message") or "no message")
        fields = payload.get("field_errors") if isinstance(payload, dict) else None
        if isinstance(fields, dict) and fields:
            message += " (%s)" % "; ".join(
                "%s: %s" % (name, (err or {}).get("message", err) if isinstance(err, dict) else err)
                for name, err in sorted(fields.items())
            )
        suggestion = error.get("suggestion")
        return LambdaAPIError(status, str(error["code"]), message, str(suggestion) if suggestion else None)
    snippet = re.sub(r"\s+", " ", text)[:200] or reason or "no body"
    return LambdaAPIError(status, "http/%d" % status, snippet)


def parse_instances(body: bytes | str) -> list[dict[str, Any]]:
    """The instances of a 200 answer, without their secret fields."""
    try:
        payload = json.loads(_as_text(body))
    except ValueError as exc:
        raise InventoryError("the instance list is not JSON: %s" % exc) from exc
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise InventoryError('the instance list has no "data" array (got %s)' % type(payload).__name__)
    instances = []
    for item in data:
        if not isinstance(item, dict) or not item.get("id"):
            raise InventoryError("an instance without an id in the list: %r" % (item,))
        instances.append(dict((k, v) for k, v in item.items() if k not in SECRET_FIELDS))
    return instances


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (the HTTP-date form is not used by Lambda and
    reads as absent)."""
    if value is None:
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def retry_delay(status: int, retry_after: str | None, attempt: int, waited: float) -> float | None:
    """Seconds to wait before trying again, or None to give up.

    Only a 429 is retried: honouring ``Retry-After`` when given (at least one second, the
    API's pace), else doubling from one second. ``attempt`` counts retries made so far,
    ``waited`` the seconds already spent waiting; both are bounded.
    """
    if status != 429 or attempt >= MAX_RETRIES:
        return None
    asked = retry_after_seconds(retry_after)
    delay = max(MIN_WAIT, asked if asked is not None else MIN_WAIT * (2**attempt))
    if delay > MAX_WAIT or waited + delay > MAX_TOTAL_WAIT:
        return None
    return delay


def give_up_message(status: int, retry_after: str | None, attempt: int) -> str:
    """Why a 429 was not retried further."""
    asked = retry_after_seconds(retry_after)
    if asked is not None and asked > MAX_WAIT:
        return "rate limited: Lambda asks to wait %gs, more than the %gs this plugin waits" % (
            asked,
            MAX_WAIT,
        )
    return "rate limited: still refused after %d retries" % attempt


def _name(instance: Mapping[str, Any]) -> str:
    return str(instance.get("name") or instance["id"])


def _nested(instance: Mapping[str, Any], key: str, field: str = "name") -> Any:
    value = instance.get(key)
    return value.get(field) if isinstance(value, dict) else None


def compile_pattern(option: str, pattern: str | None) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InventoryError("%s %r is not a valid regular expression: %s" % (option, pattern, exc)) from exc


def keep(
    instance: Mapping[str, Any],
    statuses: Iterable[str] | None = ("active",),
    regions: Iterable[str] | None = None,
    instance_types: Iterable[str] | None = None,
    name_pattern: re.Pattern[str] | None = None,
) -> bool:
    """Whether an instance passes the filters. An empty filter keeps everything; the name
    pattern is searched in the host name (the instance's name, its id when it has none)."""
    if statuses and instance.get("status") not in set(statuses):
        return False
    if regions and _nested(instance, "region") not in set(regions):
        return False
    if instance_types and _nested(instance, "instance_type") not in set(instance_types):
        return False
    return not (name_pattern and not name_pattern.search(_name(instance)))


def _count(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def host_vars(instance: Mapping[str, Any]) -> dict[str, Any]:
    """The host variables of one instance."""
    specs = _nested(instance, "instance_type", "specs")
    gpus = specs.get("gpus") if isinstance(specs, dict) else None
    out = {
        "ansible_user": "ubuntu",
        "lambda_id": instance["id"],
        "lambda_status": instance.get("status"),
        "lambda_private_ip": instance.get("private_ip"),
        "lambda_hostname": instance.get("hostname"),
        "lambda_region": _nested(instance, "region"),
        "lambda_instance_type": _nested(instance, "instance_type"),
        "lambda_gpu_count": _count(gpus),
        "lambda_gpu_description": _nested(instance, "instance_type", "gpu_description"),
    }
    # while an instance boots it may have no address yet; no ansible_host then (Ansible
    # would otherwise try to reach the host by its name)
    if instance.get("ip"):
        out["ansible_host"] = instance["ip"]
    return out


def role_of(name: str, managers_pattern: re.Pattern[str] | None) -> str | None:
    """``managers`` or ``workers``; None when no managers_pattern is set."""
    if managers_pattern is None:
        return None
    return "managers" if managers_pattern.search(name) else "workers"


def build_inventory(
    instances: Iterable[Mapping[str, Any]],
    statuses: Iterable[str] | None = ("active",),
    regions: Iterable[str] | None = None,
    instance_types: Iterable[str] | None = None,
    name_pattern: str | None = None,
    managers_pattern: str | None = None,
) -> dict[str, Any]:
    """``{"hosts": {name: vars}, "groups": {"managers": [...], "workers": [...]}}`` of the
    kept instances, hosts in name order. Two kept instances with one name are an error: the
    second would silently replace the first."""
    name_re = compile_pattern("name_pattern", name_pattern)
    managers_re = compile_pattern("managers_pattern", managers_pattern)
    unknown = sorted(set(statuses or ()) - set(STATUSES))
    if unknown:
        raise InventoryError(
            "statuses %s are not Lambda instance statuses (%s)" % (", ".join(unknown), ", ".join(STATUSES))
        )
    hosts: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {"managers": [], "workers": []} if managers_re else {}
    for instance in sorted(instances, key=lambda i: (_name(i), str(i["id"]))):
        if not keep(instance, statuses, regions, instance_types, name_re):
            continue
        name = _name(instance)
        if name in hosts:
            raise InventoryError(
                "two instances are named %r (ids %s and %s): rename one in Lambda's console or "
                "narrow statuses/name_pattern" % (name, hosts[name]["lambda_id"], instance["id"])
            )
        hosts[name] = host_vars(instance)
        role = role_of(name, managers_re)
        if role:
            groups[role].append(name)
    return {"hosts": hosts, "groups": groups}
