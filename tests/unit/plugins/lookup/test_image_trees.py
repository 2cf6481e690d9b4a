"""Lookup image_trees: which files of a build context each image's tag covers, on real folders."""

import os
import subprocess

import pytest
from ansible.errors import AnsibleLookupError
from ansible_collections.sophia.lambda_swarm.plugins.lookup.image_trees import (
    LookupModule,
    context_digests,
    image_trees,
)


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def project(tmp_path):
    write(tmp_path, "backend/core/util.py", "x = 1\n")
    write(tmp_path, "backend/one/server.py", "print(1)\n")
    write(
        tmp_path, "backend/one/Dockerfile", "FROM b\nCOPY backend/core /app/core\nCOPY backend/one /app/one\n"
    )
    write(tmp_path, "backend/two/server.py", "print(2)\n")
    write(
        tmp_path, "backend/two/Dockerfile", "FROM b\nCOPY backend/core /app/core\nCOPY backend/two /app/two\n"
    )
    write(tmp_path, "README.md", "docs\n")
    write(tmp_path, "backend/one/__pycache__/server.cpython-311.pyc", "junk")
    write(tmp_path, ".git/HEAD", "ref\n")
    return tmp_path


def images(root):
    return [
        {"name": "one", "context": str(root), "dockerfile": "backend/one/Dockerfile"},
        {"name": "two", "context": str(root), "dockerfile": "backend/two/Dockerfile"},
        # the whole project, through a Dockerfile that is added, not in the folder
        {
            "name": "std",
            "context": str(root),
            "dockerfile": ".sophia/Dockerfile",
            "args": {"P": "backend/one"},
            "files": [
                {
                    "dest": ".sophia/Dockerfile",
                    "content": "FROM b\nARG P\nCOPY $P/server.py /s\nCOPY . /app\n",
                }
            ],
        },
    ]


def test_a_change_to_one_server_changes_its_tree_and_the_whole_context_s_only(project):
    before = image_trees(images(project))
    write(project, "backend/two/server.py", "print('two, v2')\n")
    after = image_trees(images(project))
    assert after["one"] == before["one"]
    assert after["two"] != before["two"]
    assert after["std"] != before["std"]
    # shared code changes both; a file no Dockerfile copies changes the whole context's only
    write(project, "backend/core/util.py", "x = 2\n")
    shared = image_trees(images(project))
    assert shared["one"] != after["one"] and shared["two"] != after["two"]
    write(project, "README.md", "more docs\n")
    docs = image_trees(images(project))
    assert docs["one"] == shared["one"] and docs["std"] != shared["std"]


def test_the_dockerfile_and_dockerignore_count(project):
    before = image_trees(images(project))
    write(project, "backend/one/Dockerfile", "FROM b\nCOPY backend/one /app/one\n# v2\n")
    write(project, ".dockerignore", "*.md\n")
    after = image_trees(images(project))
    assert after["one"] != before["one"]
    assert after["two"] != before["two"]  # the .dockerignore changed what every image may copy


def test_the_whole_context_hash_is_the_shell_pipeline_s(project):
    (project / "link").symlink_to(project / "README.md")
    shell = subprocess.run(
        "set -o pipefail; find . -type f ! -path '*/__pycache__/*' ! -path './.git/*' ! -name '*.pyc' -print0"
        " | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64",
        shell=True,
        executable="/bin/bash",
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    whole = image_trees([{"name": "all", "context": str(project), "dockerfile": "none/Dockerfile"}])
    assert whole == {"all": shell}  # an unreadable Dockerfile: the whole context counts
    digests, links = context_digests(str(project))
    assert "link" not in digests and ".git/HEAD" not in digests and links == {"link"}


def test_a_source_through_a_symbolic_link_makes_the_whole_context_count(project):
    (project / "shared").symlink_to(project / "backend" / "core", target_is_directory=True)
    write(project, "backend/three/Dockerfile", "FROM b\nCOPY shared /app/core\n")
    image = [{"name": "three", "context": str(project), "dockerfile": "./backend/three/Dockerfile"}]
    before = image_trees(image)
    write(project, "backend/core/util.py", "x = 3\n")  # reached only through the link
    assert image_trees(image) != before


def test_a_dockerfile_named_with_dot_slash_still_counts(project):
    image = [{"name": "one", "context": str(project), "dockerfile": "./backend/one/Dockerfile"}]
    before = image_trees(image)
    write(
        project,
        "backend/one/Dockerfile",
        "FROM b\nCOPY backend/core /app/core\nCOPY backend/one /app/one\n# v2\n",
    )
    assert image_trees(image) != before


def test_lookup_returns_one_mapping_and_refuses_a_missing_context(project):
    out = LookupModule().run(images(project), variables={})
    assert len(out) == 1 and sorted(out[0]) == ["one", "std", "two"]
    with pytest.raises(AnsibleLookupError, match="not a folder on the controller"):
        image_trees([{"name": "x", "context": os.path.join(str(project), "nope")}])
    with pytest.raises(AnsibleLookupError, match="needs a name and a context"):
        image_trees([{"name": "x"}])
