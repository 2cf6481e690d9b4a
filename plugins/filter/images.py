# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the collection's one image pipeline (the stack role's entry point ``images``):
content tags and build contexts, what each image needs, the references to deploy by digest,
and the stack's own images (logic in module_utils/_images.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._images import (
    ImageError,
    actions,
    plan,
    refs,
    server_images,
)


def stack_image_plan(images, trees, registry, namespace, work_dir):
    """Each image's repository, content tag and reference, and the build contexts to send."""
    try:
        return plan(images, trees or {}, registry, namespace, work_dir)
    except ImageError as exc:
        raise AnsibleFilterError(str(exc)) from None


def stack_image_actions(planned, local_images, registry_answers):
    """The plan's images with what each needs (none, pull, push, build), grouped, and the
    contexts the build host needs."""
    return actions(planned, local_images, registry_answers or {})


def stack_image_refs(images, local_images, allow_tags=False):
    """name -> REPO@sha256:... from the build host's images (REPO:TAG where none is known and
    allow_tags is true, as in check mode)."""
    try:
        return refs(images, local_images, bool(allow_tags))
    except ImageError as exc:
        raise AnsibleFilterError(str(exc)) from None


def stack_server_images(servers, opts):
    """The stack's images for the pipeline; reads, on the controller, which servers have their
    own Dockerfile in the project and the project's own .dockerignore."""
    try:
        project = str(opts["project_dir"])
    except (KeyError, TypeError):
        raise AnsibleFilterError("stack_server_images: opts needs project_dir") from None
    ignore = os.path.join(project, ".dockerignore")
    own_ignore = None
    if os.path.isfile(ignore):
        with open(ignore, encoding="utf-8", errors="replace") as handle:
            own_ignore = handle.read()
    try:
        return server_images(
            servers,
            dict(opts, own_ignore=own_ignore),
            lambda rel: os.path.isfile(os.path.join(project, rel)),
        )
    except KeyError as exc:
        raise AnsibleFilterError("stack_server_images: missing %s" % exc) from None


class FilterModule(object):
    def filters(self):
        return {
            "stack_image_plan": stack_image_plan,
            "stack_image_actions": stack_image_actions,
            "stack_image_refs": stack_image_refs,
            "stack_server_images": stack_server_images,
        }
