"""Driving a module's main() in-process: exit_json and fail_json raise Exit and Fail with the
result, so a test reads it with pytest.raises. Use the fixture ansible_exits
(tests/unit/plugins/conftest.py)."""


class Exit(Exception):
    """exit_json was called; args[0] is the result."""


class Fail(Exception):
    """fail_json was called; args[0] is the result."""
