# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: image_trees
short_description: The hash of the files each image's Dockerfile reads from its build context
version_added: 0.3.0
description:
  - For each image of the stack role's image pipeline (entry point C(images)), the sha256 of
    the files of its build context (a folder on the controller) that its Dockerfile's C(COPY)
    and C(ADD) instructions read, with its Dockerfile and the context's C(.dockerignore). The
    pipeline's content tag covers it, so a change to one server's files rebuilds and rolls that
    server only, even where every server is built from the project's root.
  - Build arguments and C(ARG) defaults are substituted in the sources. The whole context
    counts (as before this lookup) when a source is the context itself (C(COPY . /app), the
    collection's standard Dockerfile), leaves it, or names a variable with no value, and when
    the Dockerfile cannot be read. A C(COPY --from), a heredoc and a URL read no context file.
  - Files are those C(find -type f) lists, less C(__pycache__), C(*.pyc) and the top C(.git);
    symbolic links are left out as C(find -type f) leaves them, and a source that is one, or
    lies under one, makes the whole context count (Docker follows it).
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
options:
  _terms:
    description:
      - The images, each C(name), C(context) (an absolute folder on the controller),
        C(dockerfile) (relative to it; default C(Dockerfile)), C(args) and C(files) (C(dest) and
        C(content) of files added to the context; a Dockerfile given there is read from there).
    required: true
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Content hashes of the images to build
  ansible.builtin.set_fact:
    trees: "{{ query('sophia.lambda_swarm.image_trees', *stack_images_build) }}"
"""

RETURN = r"""
_raw:
  description: One mapping, image name to the 64 hex digits of its files' hash.
  type: list
  elements: dict
"""

import fnmatch
import hashlib
import os
import posixpath

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.lookup import LookupBase
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._images import (
    copy_sources,
    tree_hash,
    used_files,
)


def context_digests(root):
    """(relative path -> sha256 of every file of a context folder, the relative paths of its
    symbolic links); see DOCUMENTATION."""
    out, links = {}, set()
    for folder, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(folder, root)
        prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        if rel_dir == ".":
            dirs[:] = [d for d in dirs if d != ".git"]
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        links.update(prefix + d for d in dirs if os.path.islink(os.path.join(folder, d)))
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                links.add(prefix + name)
                continue
            if name.endswith(".pyc") or not os.path.isfile(path):
                continue
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            out[prefix + name] = digest.hexdigest()
    return out, links


def _through_a_link(sources, links):
    """Whether a source is, or lies under, a symbolic link of the context (Docker follows it;
    the listing does not)."""
    for source in sources:
        for link in links:
            if link == source or source.startswith(link + "/") or fnmatch.fnmatchcase(link, source):
                return True
    return False


def image_trees(images, digests_of=context_digests):
    """Image name -> the hash of the files of its context its Dockerfile reads."""
    contexts, out = {}, {}
    for image in images:
        if not isinstance(image, dict) or not image.get("name") or not image.get("context"):
            raise AnsibleLookupError("image_trees: each image needs a name and a context, got %r" % (image,))
        context = str(image["context"]).rstrip("/") or "/"
        if context not in contexts:
            if not os.path.isdir(context):
                raise AnsibleLookupError(
                    "image_trees: %s: the build context %s is not a folder on the controller"
                    % (image["name"], context)
                )
            contexts[context] = digests_of(context)
        digests, links = contexts[context]
        dockerfile = posixpath.normpath(str(image.get("dockerfile") or "Dockerfile"))
        text = None
        for added in image.get("files") or []:
            if isinstance(added, dict) and posixpath.normpath(str(added.get("dest") or "")) == dockerfile:
                text = to_text(added.get("content") or "")
        if text is None:
            try:
                with open(os.path.join(context, dockerfile), "rb") as handle:
                    text = to_text(handle.read(), errors="surrogate_or_replace")
            except OSError:
                text = None
        sources = copy_sources(text, image.get("args")) if text is not None else None
        if sources is not None and _through_a_link(sources, links):
            sources = None
        paths = used_files(digests, sources, always=(dockerfile, ".dockerignore"))
        out[str(image["name"])] = tree_hash(digests, paths)
    return out


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [image_trees(terms)]
