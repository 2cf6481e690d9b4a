"""The lambda_cloud inventory's logic: filters, host variables, groups, errors, retries.

samples/lambda_cloud_instances.json is NOT a recording of Lambda's API (no account was used):
it is written in the shape Lambda's Cloud API reference documents for ``GET /instances``
(``{"data": [...]}``, instance fields, ``instance_type.specs.gpus``, ``gpu_description``),
with documentation addresses (192.0.2.0/24, 198.51.100.0/24) and made-up ids and tokens.
"""

import json
from pathlib import Path

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _lambda_cloud as lc

SAMPLE = Path(__file__).parent / "samples" / "lambda_cloud_instances.json"


@pytest.fixture
def instances():
    return lc.parse_instances(SAMPLE.read_bytes())


def test_parse_drops_the_jupyter_credentials(instances):
    assert len(instances) == 7
    assert not any(key in i for i in instances for key in ("jupyter_token", "jupyter_url"))
    assert "53968f128c4a4489b688c2c0a181d083" not in json.dumps(instances)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>bad gateway</html>", "not JSON"),
        (b'{"instances": []}', 'no "data" array'),
        (b'{"data": {"id": "x"}}', 'no "data" array'),
        (b'{"data": [{"name": "no-id"}]}', "without an id"),
    ],
)
def test_parse_rejects_what_is_not_an_instance_list(body, message):
    with pytest.raises(lc.InventoryError, match=message):
        lc.parse_instances(body)


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        (None, "https://cloud.lambda.ai/api/v1/instances"),
        ("https://cloud.lambda.ai/api/v1/", "https://cloud.lambda.ai/api/v1/instances"),
        ("http://127.0.0.1:8080/api/v1", "http://127.0.0.1:8080/api/v1/instances"),
    ],
)
def test_instances_url(api_url, expected):
    assert lc.instances_url(api_url) == expected


def test_instances_url_refuses_what_is_not_http():
    with pytest.raises(lc.InventoryError, match="not an http"):
        lc.instances_url("file:///etc/passwd")


@pytest.mark.parametrize(
    ("status", "body", "code", "text"),
    [
        (
            401,
            b'{"error": {"code": "global/invalid-api-key", "message": "API key is invalid, expired,'
            b' or deleted.", "suggestion": "Create a new API key and try again."}}',
            "global/invalid-api-key",
            "Lambda Cloud API error (HTTP 401) global/invalid-api-key: API key is invalid, expired, or"
            " deleted. Suggestion: Create a new API key and try again.",
        ),
        (
            503,
            b'{"error": {"code": "provider/internal-unavailable", "message": "Provider unavailable",'
            b' "suggestion": "Try again shortly"}}',
            "provider/internal-unavailable",
            "Lambda Cloud API error (HTTP 503) provider/internal-unavailable: Provider unavailable."
            " Suggestion: Try again shortly",
        ),
        (
            400,
            b'{"error": {"code": "global/invalid-parameters", "message": "Invalid request"},'
            b' "field_errors": {"region_name": {"code": "global/invalid-parameters",'
            b' "message": "unknown region"}}}',
            "global/invalid-parameters",
            "Lambda Cloud API error (HTTP 400) global/invalid-parameters: Invalid request"
            " (region_name: unknown region)",
        ),
        (
            502,
            b"<html>\n  <body>Bad Gateway</body>\n</html>",
            "http/502",
            "Lambda Cloud API error (HTTP 502) http/502: <html> <body>Bad Gateway</body> </html>",
        ),
        (500, b"", "http/500", "Lambda Cloud API error (HTTP 500) http/500: Internal Server Error"),
    ],
)
def test_errors_carry_lambdas_code_message_and_suggestion(status, body, code, text):
    error = lc.parse_error(status, body, "Internal Server Error")
    assert error.code == code
    assert error.text() == text


@pytest.mark.parametrize(
    ("status", "retry_after", "attempt", "waited", "delay"),
    [
        (429, "2", 0, 0.0, 2.0),  # the API's own pace is honoured
        (429, "0", 0, 0.0, 1.0),  # never faster than one request per second
        (429, None, 0, 0.0, 1.0),  # no header: 1, 2, 4, 8
        (429, None, 2, 3.0, 4.0),
        (429, "Wed, 21 Oct 2026 07:28:00 GMT", 1, 1.0, 2.0),  # date form: as if absent
        (429, None, 4, 15.0, None),  # bounded: four retries
        (429, "120", 0, 0.0, None),  # asks for longer than the plugin waits
        (429, "20", 1, 45.0, None),  # the waits together stay under a minute
        (401, None, 0, 0.0, None),  # an error is not retried
        (500, "1", 0, 0.0, None),
    ],
)
def test_retry_decisions(status, retry_after, attempt, waited, delay):
    assert lc.retry_delay(status, retry_after, attempt, waited) == delay


def test_give_up_message_names_the_reason():
    assert "asks to wait 120s" in lc.give_up_message(429, "120", 0)
    assert "after 4 retries" in lc.give_up_message(429, None, 4)


@pytest.mark.parametrize(
    ("options", "hosts"),
    [
        ({}, ["6f7a8b9c0d1e42f3a4b5c6d7e8f9a0b1", "mcp-m1", "mcp-m2", "mcp-m3", "mcp-w1"]),
        ({"statuses": ["booting"]}, ["mcp-w2"]),
        ({"statuses": ["terminated"]}, ["mcp-w0"]),
        ({"statuses": []}, 7),
        ({"regions": ["us-west-1"]}, ["mcp-m3"]),
        ({"instance_types": ["gpu_8x_h100_sxm5"]}, ["mcp-w1"]),
        ({"name_pattern": "^mcp-m"}, ["mcp-m1", "mcp-m2", "mcp-m3"]),
        ({"name_pattern": "^6f7a"}, ["6f7a8b9c0d1e42f3a4b5c6d7e8f9a0b1"]),  # the id stands in for a name
        ({"regions": ["us-east-1"], "name_pattern": "^mcp-", "statuses": ["active", "booting"]},
         ["mcp-m1", "mcp-m2", "mcp-w1", "mcp-w2"]),
    ],
)  # fmt: skip
def test_filters(instances, options, hosts):
    kept = sorted(lc.build_inventory(instances, **options)["hosts"])
    if isinstance(hosts, int):
        assert len(kept) == hosts
    else:
        assert kept == hosts


def test_host_vars_of_an_active_instance(instances):
    hosts = lc.build_inventory(instances)["hosts"]
    assert hosts["mcp-w1"] == {
        "ansible_host": "192.0.2.21",
        "ansible_user": "ubuntu",
        "lambda_id": "3c4d5e6f7a8b49c0d1e2f3a4b5c6d7e8",
        "lambda_status": "active",
        "lambda_private_ip": "10.19.0.21",
        "lambda_hostname": "192-0-2-21.cloud.lambdalabs.com",
        "lambda_region": "us-east-1",
        "lambda_instance_type": "gpu_8x_h100_sxm5",
        "lambda_gpu_count": 8,
        "lambda_gpu_description": "H100 (80 GB SXM5)",
    }


def test_a_booting_instance_without_an_address_gets_no_ansible_host(instances):
    booting = lc.build_inventory(instances, statuses=["booting"])["hosts"]["mcp-w2"]
    assert "ansible_host" not in booting
    assert booting["lambda_private_ip"] is None and booting["lambda_status"] == "booting"


@pytest.mark.parametrize(
    ("instance_type", "count"),
    [
        ({"specs": {"gpus": 8}}, 8),
        ({"specs": {"gpus": "2"}}, 2),
        ({"specs": {}}, 0),
        ({}, 0),
        (None, 0),
        ({"specs": {"gpus": "many"}}, 0),
    ],
)
def test_gpu_count_from_the_instance_type(instance_type, count):
    assert lc.host_vars({"id": "x", "instance_type": instance_type})["lambda_gpu_count"] == count


def test_managers_and_workers_by_pattern(instances):
    plan = lc.build_inventory(instances, name_pattern="^mcp-", managers_pattern=r"-m\d+$")
    assert plan["groups"] == {"managers": ["mcp-m1", "mcp-m2", "mcp-m3"], "workers": ["mcp-w1"]}


def test_no_managers_pattern_no_role_groups(instances):
    assert lc.build_inventory(instances)["groups"] == {}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name_pattern": "("}, "name_pattern '\\(' is not a valid regular expression"),
        ({"managers_pattern": "[m"}, "managers_pattern"),
        ({"statuses": ["running"]}, "running are not Lambda instance statuses"),
    ],
)
def test_bad_options_are_named(instances, options, message):
    with pytest.raises(lc.InventoryError, match=message):
        lc.build_inventory(instances, **options)


def test_two_kept_instances_with_one_name_are_an_error(instances):
    twin = dict(instances[0], id="ffff")
    with pytest.raises(lc.InventoryError, match="two instances are named 'mcp-m1'"):
        lc.build_inventory([*instances, twin])
    # a terminated namesake is filtered out first: relaunching under the same name works
    gone = dict(instances[0], id="eeee", status="terminated")
    assert lc.build_inventory([*instances, gone])["hosts"]["mcp-m1"]["lambda_id"] == instances[0]["id"]


@pytest.mark.parametrize(
    ("text", "secret", "expected"),
    [
        ("token secret_abc123 leaked", "secret_abc123", "token <redacted> leaked"),
        ("nothing here", "secret_abc123", "nothing here"),
        ("a b c", "", "a b c"),
        ("a b c", None, "a b c"),
    ],
)
def test_redact(text, secret, expected):
    assert lc.redact(text, secret) == expected


def test_the_key_goes_in_the_bearer_header_only():
    headers = lc.request_headers("secret_abc123")
    assert headers["Authorization"] == "Bearer secret_abc123"
    assert [k for k, v in headers.items() if "secret_abc123" in v] == ["Authorization"]
