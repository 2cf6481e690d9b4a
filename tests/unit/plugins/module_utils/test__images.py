"""plugins/module_utils/_images.py: the image pipeline's decisions, table by table."""

import hashlib

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _images as im

TREE = "a" * 64
TREE2 = "b" * 64
REG = "10.0.0.1:5000"


def image(name="web", context="/p", **extra):
    return {"name": name, "context": context, **extra}


def make(images, trees=None):
    return im.plan(images, trees or {"/p": TREE, "/g": TREE2}, REG, "mcp", "/w/images")


def test_plan_gives_repository_tag_reference_and_context_folder():
    out = make([image(args={"BASE_IMAGE": "py", "PORT": 8101})])
    (one,) = out["images"]
    assert one["repo"] == "10.0.0.1:5000/mcp/web"
    assert one["ref"] == "%s:%s" % (one["repo"], one["tag"])
    assert len(one["tag"]) == 12 and int(one["tag"], 16) >= 0
    assert one["dockerfile"] == "Dockerfile"
    assert one["args"] == {"BASE_IMAGE": "py", "PORT": "8101"}  # strings, as docker takes them
    assert one["dir"] == out["contexts"][0]["dir"] == "/w/images/" + im.context_id("/p")
    assert out["contexts"][0]["dirs"] == [one["dir"]]


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({}, True),
        ({"trees": {"/p": TREE2}}, False),
        ({"dockerfile": "other/Dockerfile"}, False),
        ({"args": {"BASE_IMAGE": "py2"}}, False),
        ({"name": "web2"}, False),
        ({"files": [{"dest": "x", "content": "1"}]}, False),
    ],
    ids=["nothing", "tree", "dockerfile", "args", "name", "added-file"],
)
def test_tag_follows_every_part_of_the_content(change, same):
    base = image(args={"BASE_IMAGE": "py"})
    trees = change.pop("trees", None)
    tag = make([base])["images"][0]["tag"]
    other = make([{**base, **change}], trees)["images"][0]["tag"]
    assert (tag == other) is same


def test_tag_is_stable_and_independent_of_key_order():
    one = make([image(args={"A": "1", "B": "2"})])["images"][0]["tag"]
    two = make([image(args={"B": "2", "A": "1"})])["images"][0]["tag"]
    assert one == two == make([image(args={"A": "1", "B": "2"})])["images"][0]["tag"]


def test_images_of_one_context_share_it_and_its_added_files():
    added = [
        {"dest": ".sophia/Dockerfile", "content": "FROM x\n"},
        {"dest": ".dockerignore", "content": ".git\n"},
    ]
    out = make([image("a", files=added), image("b"), image("gw", context="/g/")])
    assert [c["src"] for c in out["contexts"]] == ["/p", "/g"]
    project = out["contexts"][0]
    assert [f["dest"] for f in project["files"]] == [
        project["dir"] + "/.dockerignore",
        project["dir"] + "/.sophia/Dockerfile",
    ]
    assert project["files"][0]["mode"] == "0644"
    assert project["dirs"] == [project["dir"], project["dir"] + "/.sophia"]
    # b added nothing itself, but its context has the files: its tag covers them
    alone = make([image("b")])["images"][0]["tag"]
    assert out["images"][1]["tag"] != alone


@pytest.mark.parametrize(
    ("images", "match"),
    [
        ([image(name="Web")], r"\[0\] \(Web\): name is missing or invalid"),
        ([image(), image()], r"\[1\] \(web\): name is used twice"),
        ([image(context="rel/dir")], r"context is not an absolute controller path"),
        ([image(context="/nohash")], r"context /nohash has no content hash"),
        ([image(dockerfile="../Dockerfile")], r"dockerfile ../Dockerfile leaves the build context"),
        ([image(dockerfile="/etc/Dockerfile")], r"leaves the build context"),
        ([image(files=[{"dest": "../x", "content": ""}])], r"files.dest ../x leaves"),
        ([image(files=[{"dest": "x"}])], r"files has an entry without a content string"),
        ([image(args=["A=1"])], r"args is not a mapping"),
        ([image(args={"A": {"b": 1}})], r"args.A is not a scalar"),
        (
            [
                image("a", files=[{"dest": "x", "content": "1"}]),
                image("b", files=[{"dest": "x", "content": "2"}]),
            ],
            r"\[1\] \(b\): files adds x to /p with another content",
        ),
        (["web"], r"\[0\] \(no name\): entry is not a mapping"),
    ],
)
def test_plan_refuses_a_bad_entry_naming_it(images, match):
    with pytest.raises(im.ImageError, match=match):
        make(images)


@pytest.mark.parametrize(
    ("registry", "namespace", "work_dir", "match"),
    [
        ("", "mcp", "/w", "registry is empty"),
        (REG, "MCP", "/w", "namespace"),
        (REG, "mcp", "w", "work folder"),
    ],
)
def test_plan_refuses_bad_settings(registry, namespace, work_dir, match):
    with pytest.raises(im.ImageError, match=match):
        im.plan([image()], {"/p": TREE}, registry, namespace, work_dir)


def test_context_ids_keep_two_folders_of_one_name_apart():
    assert im.context_id("/a/project") != im.context_id("/b/project")
    assert im.context_id("/a/project").startswith("project-")
    assert im.context_id("/a/My Project!/").startswith("my-project-")


@pytest.mark.parametrize(
    ("in_registry", "local", "digest", "want"),
    [
        (True, True, "r@sha256:1", "none"),
        (True, True, None, "pull"),
        (True, False, None, "pull"),
        (False, True, "r@sha256:1", "push"),
        (False, True, None, "push"),
        (False, False, None, "build"),
    ],
)
def test_action_table(in_registry, local, digest, want):
    assert im.action(in_registry, local, digest) == want


def _local(ref, digests=()):
    return {"RepoTags": [ref], "RepoDigests": list(digests)}


def test_actions_group_images_and_keep_only_contexts_to_build():
    planned = make([image("a"), image("b"), image("c"), image("gw", context="/g")])
    a, b, c, gw = planned["images"]
    local = [
        _local(a["ref"], [a["repo"] + "@sha256:aa"]),  # pushed before, the registry has it
        _local(b["ref"]),  # built here, never pushed
        _local("elsewhere/gw:1", ["elsewhere/gw@sha256:zz"]),
    ]
    answers = {a["ref"]: 0, b["ref"]: 1, c["ref"]: 1, gw["ref"]: 0}
    out = im.actions(planned, local, answers)
    assert [i["action"] for i in out["images"]] == ["none", "push", "build", "pull"]
    assert [i["name"] for i in out["build"]] == ["c"]
    assert [i["name"] for i in out["push"]] == ["b"]
    assert [i["name"] for i in out["pull"]] == ["gw"]
    assert [ctx["src"] for ctx in out["contexts"]] == ["/p"]


@pytest.mark.parametrize("answer", [None, 1, "1", True], ids=["no-answer", "rc1", "rc-string", "bool"])
def test_anything_but_exit_status_zero_counts_as_missing(answer):
    planned = make([image()])
    answers = {} if answer is None else {planned["images"][0]["ref"]: answer}
    assert im.actions(planned, [], answers)["images"][0]["action"] == "build"


def test_a_digest_of_another_repository_does_not_count():
    planned = make([image()])
    (one,) = planned["images"]
    assert im.local_digest(one, [_local(one["ref"], ["other/web@sha256:1"])]) is None
    assert (
        im.local_digest(one, [_local(one["ref"], [one["repo"] + "@sha256:1"])]) == one["repo"] + "@sha256:1"
    )
    # the digest of an image under another tag is not this content's
    assert im.local_digest(one, [_local(one["repo"] + ":old", [one["repo"] + "@sha256:0"])]) is None


def test_refs_by_digest_or_by_tag_where_allowed():
    planned = make([image("a"), image("b")])
    a, b = planned["images"]
    local = [_local(a["ref"], [a["repo"] + "@sha256:aa"])]
    assert im.refs(planned["images"], local, allow_tags=True) == {
        "a": a["repo"] + "@sha256:aa",
        "b": b["ref"],
    }
    with pytest.raises(im.ImageError, match=r"b: the build host knows no digest of .*mcp/b:"):
        im.refs(planned["images"], local)


@pytest.mark.parametrize(
    ("own", "first"),
    [(None, "# none of its own"), ("", "# none of its own"), ("node_modules\n\n", "node_modules")],
)
def test_dockerignore_keeps_own_rules_then_what_never_goes_in(own, first):
    text = im.dockerignore(own)
    lines = text.splitlines()
    assert lines[0] == first
    assert text.endswith("!.sophia\n!.sophia/**\n")
    for rule in (".git", "**/.env.*", "**/__pycache__", "**/.venv"):
        assert rule in lines


SERVERS = [
    {"name": "own", "path": "srv/own", "module": "srv.own", "port": 8101},
    {"name": "std", "path": "srv/std/", "module": "srv.std", "port": 8102},
    {"name": "js", "path": "srv/js", "dockerfile": "srv/js/Dockerfile.node", "command": "node", "port": 8103},
    {"name": "pre", "image": "ghcr.io/x/pre:1", "port": 8104},
]
OPTS = {
    "project_dir": "/p/",
    "base_image": "py:3",
    "gateway_context": "/g",
    "standard": {"mcp_healthcheck.py": "h", "Dockerfile.mcp-uv": "d"},
    "own_ignore": "dist\n",
}


def test_server_images_pick_own_or_standard_dockerfile_and_add_the_gateway():
    exists = {"srv/own/Dockerfile", "srv/js/Dockerfile.node"}.__contains__
    out = im.server_images(SERVERS, OPTS, exists)
    assert [i["name"] for i in out] == ["own", "std", "js", "gateway"]  # pre is deployed as it is
    own, std, js, gateway = out
    assert own["dockerfile"] == "srv/own/Dockerfile"
    assert std["dockerfile"] == ".sophia/Dockerfile.mcp-uv"  # no Dockerfile of its own
    assert js["dockerfile"] == "srv/js/Dockerfile.node"
    assert own["context"] == "/p"
    assert own["args"] == {
        "BASE_IMAGE": "py:3",
        "SERVER_PATH": "srv/own",
        "SERVER_MODULE": "srv.own",
        "SERVER_PORT": "8101",
    }
    assert js["args"]["SERVER_MODULE"] == ""
    assert [f["dest"] for f in own["files"]] == [
        ".sophia/Dockerfile.mcp-uv",
        ".sophia/mcp_healthcheck.py",
        ".dockerignore",
    ]
    assert own["files"][2]["content"].startswith("dist\n# added by")
    assert gateway == {
        "name": "gateway",
        "context": "/g",
        "dockerfile": "Dockerfile",
        "args": {"BASE_IMAGE": "py:3"},
        "files": [],
    }


def test_server_images_plan_cleanly():
    """What server_images gives is what plan takes: one project context, the gateway's apart."""
    images = im.server_images(SERVERS, OPTS, lambda rel: False)
    out = im.plan(images, {"/p": TREE, "/g": TREE2}, REG, "mcp", "/w")
    assert [c["src"] for c in out["contexts"]] == ["/p", "/g"]
    assert len({i["tag"] for i in out["images"]}) == 4


# --- which context files an image reads (copy_sources, used_files, tree_hash) -------------


@pytest.mark.parametrize(
    "dockerfile, args, want",
    [
        ("FROM x\nCOPY a/b.txt /app/\nADD c /c\n", {}, ["a/b.txt", "c"]),
        # several sources, flags, JSON form, a leading slash is the context's root
        (
            'FROM x\nCOPY --chown=1:1 --chmod=644 a b /dst/\nCOPY ["d e", "/dst"]\nCOPY /f /g\n',
            {},
            ["a", "b", "d e", "f"],
        ),
        # continuation lines with a comment and a blank line inside; a tab after the word
        ("FROM x\nCOPY a \\\n# note\n\n  b /dst/\nCOPY\tc /d\n", {}, ["a", "b", "c"]),
        # a stage's ARG: its default, else the build argument; ${V:-w} and ${V:+w}
        (
            "ARG B\nFROM ${B}\nARG P=srv/one\nCOPY ${P}/req.txt /t\nCOPY $P /app\n",
            {},
            ["srv/one/req.txt", "srv/one"],
        ),
        ("FROM x\nARG P=srv/one\nCOPY ${P}/x /t\n", {"P": "srv/two"}, ["srv/two/x"]),
        ("FROM x\nARG P\nARG Q=q\nCOPY ${P:-dflt}/x ${Q:+w}y /t\n", {}, ["dflt/x", "wy"]),
        # declared without a value and not given: empty, as Docker makes it
        ("FROM x\nARG P\nCOPY ${P}/x /app\n", {}, ["x"]),
        # a default made of an earlier ARG; a global ARG counts where the stage declares it again
        ("ARG R=srv\nFROM x\nARG R\nARG S=${R}/sub\nCOPY $S /s\n", {}, ["srv/sub"]),
        # another stage's or image's files, a URL: no context file
        ("FROM x AS a\nFROM y\nCOPY --from=a /out /out\nADD https://e.org/f /f\n", {}, []),
        # lower-case instructions count too
        ("from x\ncopy lib /lib\n", {}, ["lib"]),
    ],
)
def test_copy_sources(dockerfile, args, want):
    assert im.copy_sources(dockerfile, args) == want


@pytest.mark.parametrize(
    "dockerfile, args",
    [
        ("FROM x\nCOPY . /app\n", {}),  # the whole context (the collection's standard Dockerfile)
        ("FROM x\nCOPY ./ /app\n", {}),
        ("FROM x\nCOPY ../up /app\n", {}),  # leaves the context: let the build say so
        ("FROM x\nCOPY ${P}/x /app\n", {}),  # a name no ARG declares (the base image's ENV?)
        ("FROM x\nCOPY ${P}/x /app\n", {"P": "given"}),  # a build argument no ARG declares
        ("ARG P=a\nFROM x\nCOPY $P /app\n", {}),  # a global ARG the stage does not declare
        ("FROM x\nARG D=a\nENV D=b\nCOPY $D /d\n", {}),  # ENV wins over ARG: not followed
        ("FROM x\nARG A\nCOPY ${A:-${B:-src}} /d\n", {}),  # nested forms
        ("FROM x\nARG P=a/\nCOPY ${P%/} /d\n", {}),
        ('FROM x\nCOPY "src" /dst\n', {}),  # quoted words
        ("FROM x\nCOPY [a]b /dst\n", {}),  # bracket patterns (Go and fnmatch differ on [^...])
        ("FROM x\nCOPY <<EOF /f\nCOPY nothing /x\nEOF\n", {}),  # a heredoc
        ("# escape=`\nFROM x\nCOPY a `\n  b /dst\n", {}),  # another escape character
        ("FROM x\nRUN --mount=type=bind,target=/src make\n", {}),  # the context mounted in a RUN
        ("FROM x\nONBUILD COPY . /app\n", {}),
        ('FROM x\nCOPY ["a", /t\n', {}),  # a JSON form that does not parse
    ],
)
def test_copy_sources_whole_context(dockerfile, args):
    assert im.copy_sources(dockerfile, args) is None


def test_used_files_by_path_prefix_and_glob_never_a_sibling_with_a_common_prefix():
    listing = ["Dockerfile", "a/x.py", "a/y/z.py", "ab/x.py", "b.txt", "c/d.cfg", "c/e.txt", ".dockerignore"]
    got = im.used_files(listing, ["a", "c/*.cfg", "missing"], always=["Dockerfile", ".dockerignore", "nope"])
    assert got == [".dockerignore", "Dockerfile", "a/x.py", "a/y/z.py", "c/d.cfg"]
    assert im.used_files(listing, None) == sorted(listing, key=lambda p: ("./" + p).encode())
    # a glob that matches a folder takes the folder's files
    assert im.used_files(["s/one/f", "s/two/g", "t/h"], ["s/*"]) == ["s/one/f", "s/two/g"]


def test_tree_hash_is_the_find_sha256sum_pipeline():
    digests = {"a/x": "1" * 64, "b": "2" * 64}
    listing = "%s  ./a/x\n%s  ./b\n" % ("1" * 64, "2" * 64)
    assert im.tree_hash(digests, ["a/x", "b"]) == hashlib.sha256(listing.encode()).hexdigest()


def test_plan_takes_an_image_s_own_tree_before_its_context_s():
    images = [image("one"), image("two")]
    out = im.plan(images, {"one": TREE, "/p": TREE2}, REG, "mcp", "/w/images")["images"]
    again = im.plan(images, {"one": TREE2, "/p": TREE2}, REG, "mcp", "/w/images")["images"]
    assert out[0]["tag"] != again[0]["tag"]  # one's own tree counts
    assert out[1]["tag"] == again[1]["tag"]  # two falls back to the context's
