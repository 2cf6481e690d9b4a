"""_mcp_validate_report: grouping, hints, summary, SARIF and the table."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_report as r


def test_group_folds_one_cause_in_one_file_and_orders_errors_first():
    findings = [
        r.finding("image-untagged", "a.yml", 3, "untagged"),
        r.finding("copy-source-missing", "Dockerfile", 4, "COPY x missing", cause="copy:."),
        r.finding("copy-source-missing", "Dockerfile", 9, "COPY y missing", cause="copy:."),
        r.finding("copy-source-missing", "Dockerfile", 4, "COPY x missing", cause="copy:."),  # exact repeat
        r.finding("copy-source-missing", "other/Dockerfile", 2, "COPY z missing", cause="copy:."),
    ]
    grouped = r.group(findings)
    assert [(f["code"], f["path"], f["count"], f["lines"]) for f in grouped] == [
        ("copy-source-missing", "Dockerfile", 2, [4, 9]),
        ("copy-source-missing", "other/Dockerfile", 1, [2]),
        ("image-untagged", "a.yml", 1, [3]),
    ]
    assert grouped[0]["message"].endswith("(2 times in this file, lines 4, 9)")
    assert all("_cause" not in f for f in grouped)


@pytest.mark.parametrize(
    ("wanted", "candidates", "hint"),
    [
        ("docker-compose.cloud.yml", ["docker-compose.prod.yml", "docker-compose.cloud.yml.backup"],
         "docker-compose.cloud.yml.backup"),
        (".env", [".env.example", "env.py"], ".env.example"),
        ("d/app.yml", ["d/app.example.yml", "e/app.yml"], "d/app.example.yml"),
        ("docker", ["v0dev", "backend"], None),
        ("linkedin_intel", ["linear", "intel_tools"], None),
        ("mcp-servers/ai-memory", ["backend/mcp_servers/ai_memory", "docs"], "backend/mcp_servers/ai_memory"),
    ],
)  # fmt: skip
def test_closest_path_prefers_same_stem_siblings_and_has_a_cutoff(wanted, candidates, hint):
    assert r.closest_path(wanted, candidates) == hint


def test_summary_and_reaches():
    findings = [r.finding("python-syntax", "a.py", 1, "x"), r.finding("image-untagged", "c.yml", 2, "y"),
                r.finding("file-skipped", "b", None, "z")]  # fmt: skip
    summary = r.summarize(findings, 7)
    assert summary["by_severity"] == {"error": 1, "warning": 1, "info": 1} and summary["files_scanned"] == 7
    assert len(r.reaches(findings, "error")) == 1 and len(r.reaches(findings, "warning")) == 2


def test_sarif_gives_a_grouped_finding_one_location_per_line():
    grouped = r.group([r.finding("compose-file-missing", "up.sh", n, "gone", cause="c") for n in (3, 5)])
    sarif = r.to_sarif({"findings": grouped})
    (result,) = sarif["runs"][0]["results"]
    assert [loc["physicalLocation"]["region"]["startLine"] for loc in result["locations"]] == [3, 5]
    assert {rule["id"] for rule in sarif["runs"][0]["tool"]["driver"]["rules"]} == set(r.RULES)


def test_table_lines():
    assert r.format_table([]) == ["no findings"]
    lines = r.format_table([r.finding("python-syntax", "a.py", 2, "bad", "fix it")])
    assert lines[0].startswith("ERROR   python-syntax") and "a.py:2  bad" in lines[0]
    assert lines[1].strip() == "hint: fix it"
