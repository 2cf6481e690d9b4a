# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Imports follow the documentation, as ansible-test wants for plugins.
# ruff: noqa: E402

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: lambda_cloud
short_description: Lambda Cloud instances as an inventory
version_added: 0.1.0
description:
  - Lists the account's instances with Lambda's Cloud API (C(GET /instances)) and makes each
    kept instance a host, named after the instance's C(name) (its C(id) when it has none).
  - "Host variables: C(ansible_host) (the public C(ip); absent while an instance has none),
    C(ansible_user=ubuntu), C(lambda_private_ip), C(lambda_region), C(lambda_instance_type),
    C(lambda_gpu_count) and C(lambda_gpu_description) (from the instance type's C(specs.gpus)
    and C(gpu_description)), C(lambda_status), C(lambda_id), C(lambda_hostname)."
  - With O(managers_pattern), kept instances whose name matches go to group C(managers), the
    others to C(workers); O(keyed_groups), O(groups) and O(compose) add more. The swarm role
    advertises C(lambda_private_ip) to its peers.
  - "The inventory source is a YAML file whose name ends in C(lambda_cloud.yml) or
    C(lambda_cloud.yaml) and which says C(plugin: sophia.lambda_swarm.lambda_cloud)."
  - API errors are reported with Lambda's error code, message and suggestion. An answer 429
    (rate limited; the API allows about one request per second) is retried after the
    C(Retry-After) the API gives, or after 1, 2, 4, 8 seconds; at most 4 retries and 60
    seconds of waiting in all.
  - The API key is sent only in the C(Authorization) header, never logged, and never written
    to the inventory cache (the cache holds the instance list only, without the instances'
    Jupyter tokens and URLs). Redirects are refused, so the key never goes to another host.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; it makes the file an inventory source of this plugin.
    type: str
    required: true
    choices: [sophia.lambda_swarm.lambda_cloud]
  api_url:
    description:
      - Base URL of the Lambda Cloud API (the part before C(/instances)).
      - Point it at a stand-in of the API for tests.
    type: str
    default: https://cloud.lambda.ai/api/v1
    env:
      - name: LAMBDA_API_URL
  api_key:
    description:
      - A Lambda Cloud API key (made in the Lambda Cloud console's API keys page).
      - Leave it out of the file and set the environment variable instead, or vault-encrypt
        the value in the file (C(ansible-vault encrypt_string)).
      - Never logged and never cached.
    type: str
    env:
      - name: LAMBDA_API_KEY
  statuses:
    description:
      - Keep only instances in one of these states; an empty list keeps every state.
      - One of C(booting), C(active), C(unhealthy), C(terminating), C(terminated) each.
    type: list
    elements: str
    default: [active]
  regions:
    description: Keep only instances in these regions (region names such as C(us-east-1)); empty keeps all.
    type: list
    elements: str
    default: []
  instance_types:
    description: Keep only instances of these types (such as C(gpu_8x_h100_sxm5)); empty keeps all.
    type: list
    elements: str
    default: []
  name_pattern:
    description:
      - A Python regular expression searched in each host name (the instance's name, or its
        id); only matching instances are kept.
    type: str
  managers_pattern:
    description:
      - A Python regular expression searched in each kept host name. Matching hosts go to
        group C(managers), the other kept hosts to C(workers).
      - Without it, neither group is made (a swarm needs both; a warning says so).
    type: str
  timeout:
    description: Seconds to wait for one answer of the API.
    type: int
    default: 30
  validate_certs:
    description: Whether to verify the API's TLS certificate.
    type: bool
    default: true
"""

EXAMPLES = r"""
# inventory/lambda-cloud/lambda_cloud.yml; the key comes from LAMBDA_API_KEY.
# With the key in the file instead, vault-encrypt it:
#   ansible-vault encrypt_string --name api_key  (and paste the result here)
plugin: sophia.lambda_swarm.lambda_cloud
regions: [us-east-1]
name_pattern: "^mcp-"
managers_pattern: "^mcp-m[0-9]+$"
keyed_groups:
  - key: lambda_instance_type
    prefix: type
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/lambda-inventory
cache_timeout: 300
"""

import time

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _lambda_cloud as lc

display = Display()


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "sophia.lambda_swarm.lambda_cloud"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("lambda_cloud.yml", "lambda_cloud.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache")
        instances = None
        update_cache = use_cache and not cache
        if use_cache and cache:
            try:
                instances = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if instances is None:
            instances = self._fetch()
        if update_cache:
            # the instance list only (secret fields already dropped); never the key
            self._cache[cache_key] = instances
        try:
            plan = lc.build_inventory(
                instances,
                statuses=self.get_option("statuses"),
                regions=self.get_option("regions"),
                instance_types=self.get_option("instance_types"),
                name_pattern=self.get_option("name_pattern"),
                managers_pattern=self.get_option("managers_pattern"),
            )
        except lc.InventoryError as exc:
            raise AnsibleParserError("lambda_cloud: %s" % exc) from exc
        self._populate(plan)

    def _api_key(self):
        key = self.get_option("api_key")
        # a vault-encrypted value decrypts when made a str
        key = to_native(key).strip() if key is not None else ""
        if not key:
            raise AnsibleParserError(
                "lambda_cloud: no API key: set api_key in the inventory file (vault-encrypted) "
                "or the environment variable LAMBDA_API_KEY"
            )
        return key

    def _fetch(self):
        key = self._api_key()
        try:
            url = lc.instances_url(self.get_option("api_url"))
        except lc.InventoryError as exc:
            raise AnsibleParserError("lambda_cloud: %s" % exc) from exc
        attempt, waited = 0, 0.0
        while True:
            try:
                response = open_url(
                    url,
                    method="GET",
                    headers=lc.request_headers(key),
                    timeout=self.get_option("timeout"),
                    validate_certs=self.get_option("validate_certs"),
                    follow_redirects="none",
                    use_netrc=False,
                )
                body = response.read()
            except HTTPError as exc:
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                delay = lc.retry_delay(exc.code, retry_after, attempt, waited)
                if delay is not None:
                    display.vvv("lambda_cloud: %s answered %d, retrying in %gs" % (url, exc.code, delay))
                    time.sleep(delay)
                    attempt += 1
                    waited += delay
                    continue
                error = lc.parse_error(exc.code, _read(exc), to_native(exc.reason))
                text = error.text()
                if exc.code == 429:
                    text += " (%s)" % lc.give_up_message(exc.code, retry_after, attempt)
                raise AnsibleParserError("lambda_cloud: GET %s: %s" % (url, lc.redact(text, key))) from None
            except (URLError, OSError) as exc:
                raise AnsibleParserError(
                    "lambda_cloud: cannot reach %s: %s" % (url, lc.redact(to_native(exc), key))
                ) from None
            try:
                return lc.parse_instances(body)
            except lc.InventoryError as exc:
                raise AnsibleParserError(
                    "lambda_cloud: GET %s: %s" % (url, lc.redact(to_native(exc), key))
                ) from None

    def _populate(self, plan):
        strict = self.get_option("strict")
        for group in plan["groups"]:
            self.inventory.add_group(group)
        if not plan["groups"]:
            display.warning(
                "lambda_cloud: no managers_pattern is set, so no host is in group managers or "
                "workers; the swarm roles need both"
            )
        for name, hostvars in plan["hosts"].items():
            self.inventory.add_host(name)
            for key, value in hostvars.items():
                self.inventory.set_variable(name, key, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
        for group, members in plan["groups"].items():
            for name in members:
                self.inventory.add_child(group, name)


def _read(error):
    try:
        return error.read()
    except (OSError, AttributeError):
        return b""
