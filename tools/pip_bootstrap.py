"""Stand-in for the pip bootstrap script ansible-test downloads from its own file host.

That host cannot be reached here, so tools/sanity.sh places this file where ansible-test
caches the script. Run as `python THIS [pip options] pip==X [packages]` inside an empty
virtual environment: pip comes from the standard library's ensurepip, then the requested
packages (pip's pinned version among them) are installed from the configured index.
"""

import ensurepip
import os
import subprocess
import sys

# Options that only the original script understands.
BOOTSTRAP_ONLY = {"--no-setuptools", "--no-wheel"}
# Debian and Ubuntu keep the system trust store here.
OS_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def configured_cert() -> list[str]:
    """The CA bundle named in this machine's pip configuration, passed explicitly:
    the pip that ensurepip brings does not apply a `cert` from the config files."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.cert"],
        capture_output=True,
        text=True,
        check=False,
    )
    cert = proc.stdout.strip().strip("'\"") if proc.returncode == 0 else ""
    # ansible-test runs this with a reduced environment; fall back to the OS trust store.
    cert = cert or os.environ.get("SSL_CERT_FILE", "")
    if not cert and os.path.isfile(OS_CA_BUNDLE):
        cert = OS_CA_BUNDLE
    return ["--cert", cert] if cert else []


def main() -> int:
    ensurepip.bootstrap(upgrade=True, default_pip=True)
    args = [arg for arg in sys.argv[1:] if arg not in BOOTSTRAP_ONLY]
    return subprocess.call([sys.executable, "-m", "pip", "install", *configured_cert(), *args])


if __name__ == "__main__":
    sys.exit(main())
