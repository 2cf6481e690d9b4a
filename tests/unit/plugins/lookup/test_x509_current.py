"""Lookup x509_current: whether the registry role's CA and certificates on the controller are what
its community.crypto tasks (roles/registry/tasks/ca.yml, cert.yml) leave unchanged. The files are
real, issued here with cryptography and the tasks' parameters: the CA an ECC secp256r1 key (0600)
and a self-signed certificate (0644) with the common name only, critical CA:TRUE pathlen:0 and
critical keyCertSign, cRLSign, no SAN, in a 0700 folder; each NAME.key/NAME.crt the same key
rules and a certificate signed by the CA whose common name is the first SAN's value, with those
SANs and serverAuth only. Like x509_certificate, the certificates carry a subject key identifier
and the leaves an authority key identifier. The last test runs the real role tasks three times."""

import datetime
import ipaddress
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleLookupError
from ansible_collections.sophia.lambda_swarm.plugins.lookup import x509_current as plugin
from ansible_collections.sophia.lambda_swarm.plugins.lookup.x509_current import LookupModule, x509_current
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parents[4]
PLUGIN_NAME = "sophia.lambda_swarm.x509_current"
CA_CN = "test CA"
SANS = ("IP:127.0.0.1", "DNS:localhost")
DAY = datetime.timedelta(days=1)


def _now():
    return datetime.datetime.now(datetime.UTC)


def name(cn, *extra):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), *extra])


def p256():
    return ec.generate_private_key(ec.SECP256R1())


def general_names(sans):
    out = []
    for san in sans:
        kind, value = san.split(":", 1)
        if kind == "IP":
            out.append(x509.IPAddress(ipaddress.ip_address(value)))
        else:
            out.append(x509.DNSName(value))
    return out


def write_key(path, key, mode=0o600, password=None):
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    path.chmod(mode)


def write_cert(path, cert, mode=0o644):
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.chmod(mode)


def build(subject, issuer, public_key, signer, extensions, not_before=None, not_after=None):
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - DAY)
        .not_valid_after(not_after or now + 3650 * DAY)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, hashes.SHA256())


def ca_extensions(
    public_key, path_length=0, basic_critical=True, digital_signature=False, ski=True, extra=()
):
    """What openssl_csr_pipe requests in ca.yml, plus the SKI x509_certificate adds."""
    return [
        (x509.BasicConstraints(ca=True, path_length=path_length), basic_critical),
        (x509.KeyUsage(digital_signature, False, False, False, False, True, True, False, False), True),
        *([(x509.SubjectKeyIdentifier.from_public_key(public_key), False)] if ski else []),
        *extra,
    ]


def leaf_extensions(public_key, ca_public_key, sans, eku=(ExtendedKeyUsageOID.SERVER_AUTH,), aki=True,
                    san_critical=False, extra=()):  # fmt: skip
    """What openssl_csr_pipe requests in cert.yml, plus the SKI and AKI x509_certificate adds."""
    return [
        (x509.SubjectAlternativeName(general_names(sans)), san_critical),
        *([(x509.ExtendedKeyUsage(list(eku)), False)] if eku else []),
        (x509.SubjectKeyIdentifier.from_public_key(public_key), False),
        *([(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public_key), False)] if aki else []),
        *extra,
    ]


class Pki:
    """A CA folder on disk, as the role's tasks leave it; each method may change one thing."""

    def __init__(self, root):
        self.dir = root / "ca"

    def path(self, file):
        return self.dir / file

    def ca(self, key=None, key_mode=0o600, cert_mode=0o644, subject=None, cert_key=None, not_before=None,
           not_after=None, password=None, **extensions):  # fmt: skip
        """Write ca.key and ca.crt; cert_key: the (self-signing) key the certificate holds;
        extensions: ca_extensions' keywords."""
        self.dir.mkdir(mode=0o700, exist_ok=True)
        self.dir.chmod(0o700)
        self.ca_key = key or p256()
        cert_key = cert_key or self.ca_key
        self.ca_subject = subject or name(CA_CN)
        self.ca_cert = build(self.ca_subject, self.ca_subject, cert_key.public_key(), cert_key,
                             ca_extensions(cert_key.public_key(), **extensions), not_before, not_after)  # fmt: skip
        write_key(self.path("ca.key"), self.ca_key, key_mode, password)
        write_cert(self.path("ca.crt"), self.ca_cert, cert_mode)
        return self

    def leaf(self, cert_name="registry", sans=SANS, key_mode=0o600, cert_mode=0o644, cn=None, issuer=None,
             signer=None, not_before=None, not_after=None, **extensions):  # fmt: skip
        """Write NAME.key and NAME.crt, signed by the CA (or by signer, with issuer as its name);
        extensions: leaf_extensions' keywords."""
        key = p256()
        signer = signer or self.ca_key
        subject = name(cn if cn is not None else sans[0].partition(":")[2])
        cert = build(subject, issuer or self.ca_subject, key.public_key(), signer,
                     leaf_extensions(key.public_key(), signer.public_key(), sans, **extensions), not_before,
                     not_after)  # fmt: skip
        write_key(self.path(cert_name + ".key"), key, key_mode)
        write_cert(self.path(cert_name + ".crt"), cert, cert_mode)
        return self

    def current(self, names=(), sans=SANS):
        return x509_current(str(self.dir), CA_CN, list(names), list(sans))


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path).ca().leaf()


def make_lookup():
    """LookupModule as the plugin loader makes it: the options come from its DOCUMENTATION."""
    if not C.config.has_configuration_definition("lookup", PLUGIN_NAME):
        options = yaml.safe_load(plugin.DOCUMENTATION)["options"]
        C.config.initialize_plugin_configuration_definitions("lookup", PLUGIN_NAME, options)
    lookup = LookupModule()
    lookup._load_name = PLUGIN_NAME
    return lookup


def test_the_ca_alone_and_with_its_certificate_are_current(pki):
    assert pki.current() == {"current": True, "reason": ""}
    assert pki.current(["registry"]) == {"current": True, "reason": ""}
    assert x509_current(str(pki.dir), CA_CN, now=_now() + 30 * DAY) == {"current": True, "reason": ""}


def test_the_lookup_plugin_reads_its_options(pki):
    out = make_lookup().run(
        ["registry"], {}, ca_dir=str(pki.dir), ca_common_name=CA_CN, subject_alt_names=SANS
    )
    assert out == [{"current": True, "reason": ""}]
    assert make_lookup().run([], {}, ca_dir=str(pki.dir), ca_common_name=CA_CN) == [
        {"current": True, "reason": ""}
    ]
    other = make_lookup().run([], {}, ca_dir=str(pki.dir), ca_common_name="other CA")
    assert other[0]["current"] is False and "CN=other CA" in other[0]["reason"]


def _other_ca_key_cert(pki):
    """ca.crt self-signed by another key (it then holds that key's public key)."""
    pki.ca(key=pki.ca_key, cert_key=p256())


CA_CASES = {
    "missing-folder": (lambda p: shutil.rmtree(p.dir), "", "is missing"),
    "folder-0755": (lambda p: p.dir.chmod(0o755), "", "mode 0755, not 0700"),
    "missing-key": (lambda p: p.path("ca.key").unlink(), "ca.key", "is missing"),
    "key-0644": (lambda p: p.path("ca.key").chmod(0o644), "ca.key", "mode 0644, not 0600"),
    "encrypted-key": (lambda p: p.ca(password=b"secret"), "ca.key", "not an unencrypted PEM private key"),
    "rsa-key": (lambda p: p.ca(key=rsa.generate_private_key(65537, 2048)), "ca.key", "not an ECC key"),
    "secp384r1-key": (lambda p: p.ca(key=ec.generate_private_key(ec.SECP384R1())), "ca.key", "secp256r1"),
    "cert-0600": (lambda p: p.path("ca.crt").chmod(0o600), "ca.crt", "mode 0600, not 0644"),
    "cert-of-another-key": (_other_ca_key_cert, "ca.crt", "does not hold the public key"),
    "other-cn": (lambda p: p.ca(subject=name("another CA")), "ca.crt", "not CN=test CA"),
    "extra-subject-attribute": (
        lambda p: p.ca(subject=name(CA_CN, x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Org"))),
        "ca.crt",
        "O=Org",
    ),
    "basic-constraints-not-critical": (lambda p: p.ca(basic_critical=False), "ca.crt", "critical CA:TRUE"),
    "pathlen-1": (lambda p: p.ca(path_length=1), "ca.crt", "critical CA:TRUE, pathlen:0"),
    "digital-signature-too": (lambda p: p.ca(digital_signature=True), "ca.crt", "key usage"),
    "ca-with-san": (
        lambda p: p.ca(extra=[(x509.SubjectAlternativeName([x509.DNSName("ca")]), False)]),
        "ca.crt",
        "extensions differ from what the tasks request (SubjectAlternativeName)",
    ),
    "expired": (
        lambda p: p.ca(not_before=_now() - 20 * DAY, not_after=_now() - DAY),
        "ca.crt",
        "not valid now",
    ),
    "not-yet-valid": (
        lambda p: p.ca(not_before=_now() + DAY, not_after=_now() + 20 * DAY),
        "ca.crt",
        "not valid now",
    ),
}


@pytest.mark.parametrize(("change", "file", "problem"), CA_CASES.values(), ids=CA_CASES.keys())
def test_a_ca_the_tasks_would_change_is_not_current(tmp_path, change, file, problem):
    pki = Pki(tmp_path).ca()
    assert pki.current() == {"current": True, "reason": ""}
    change(pki)
    for out in (pki.current(), make_lookup().run([], {}, ca_dir=str(pki.dir), ca_common_name=CA_CN)[0]):
        assert out["current"] is False
        assert str(pki.path(file) if file else pki.dir) in out["reason"]
        assert problem in out["reason"]


def _signed_by_another_ca_of_the_same_name(pki):
    pki.leaf(signer=p256())  # issuer is still CN=test CA


LEAF_CASES = {
    "missing-key": (lambda p: p.path("registry.key").unlink(), "registry.key", "is missing"),
    "key-0640": (lambda p: p.path("registry.key").chmod(0o640), "registry.key", "mode 0640, not 0600"),
    "cert-0600": (lambda p: p.path("registry.crt").chmod(0o600), "registry.crt", "mode 0600, not 0644"),
    "missing-cert": (lambda p: p.path("registry.crt").unlink(), "registry.crt", "is missing"),
    "signed-by-another-ca-of-the-same-name": (
        _signed_by_another_ca_of_the_same_name,
        "registry.crt",
        "not signed by the CA's key",
    ),
    "issued-by-a-ca-of-another-name": (
        lambda p: p.leaf(issuer=name("another CA")),
        "registry.crt",
        "not issued by the CA (CN=another CA)",
    ),
    "one-more-san": (
        lambda p: p.leaf(sans=[*SANS, "DNS:extra"]),
        "registry.crt",
        "subject alternative names",
    ),
    "one-san-missing": (lambda p: p.leaf(sans=SANS[:1]), "registry.crt", "subject alternative names"),
    "cn-not-the-first-san": (lambda p: p.leaf(cn="localhost"), "registry.crt", "not CN=127.0.0.1"),
    "client-auth-too": (
        lambda p: p.leaf(eku=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
        "registry.crt",
        "serverAuth only",
    ),
    "no-extended-key-usage": (lambda p: p.leaf(eku=()), "registry.crt", "(ExtendedKeyUsage)"),
    "expired": (
        lambda p: p.leaf(not_before=_now() - 20 * DAY, not_after=_now() - DAY),
        "registry.crt",
        "not valid now",
    ),
    "not-yet-valid": (lambda p: p.leaf(not_before=_now() + DAY), "registry.crt", "not valid now"),
    "ca-reissued-with-a-new-key": (lambda p: p.ca(), "registry.crt", "not signed by the CA's key"),
}


@pytest.mark.parametrize(("change", "file", "problem"), LEAF_CASES.values(), ids=LEAF_CASES.keys())
def test_a_certificate_the_tasks_would_change_is_not_current(pki, change, file, problem):
    change(pki)
    assert pki.current() == {"current": True, "reason": ""}  # the CA alone is still current
    out = pki.current(["registry"])
    assert out["current"] is False
    assert str(pki.path(file)) in out["reason"]
    assert problem in out["reason"]


def test_the_order_of_the_subject_alt_names_counts(pki):
    # x509_certificate compares the extension as a list: the role's tasks re-issue a certificate
    # whose names are the same in another order (checked with community.crypto 3.0.5)
    pki.leaf(sans=[SANS[1], SANS[0]], cn="127.0.0.1")
    out = pki.current(["registry"])
    assert out["current"] is False and "(in order)" in out["reason"]


EXTENSION_GAPS = {
    "ca-without-subject-key-identifier": lambda p: p.ca(key=p.ca_key, ski=False),
    "ca-with-an-extended-key-usage": lambda p: p.ca(
        key=p.ca_key, extra=[(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)]
    ),
    "leaf-without-authority-key-identifier": lambda p: p.leaf(aki=False),
    "leaf-with-ca-true": lambda p: p.leaf(extra=[(x509.BasicConstraints(ca=True, path_length=None), True)]),
    "leaf-with-a-critical-san": lambda p: p.leaf(san_critical=True),
}


# each of these makes x509_certificate re-issue (checked with community.crypto 3.0.5)
@pytest.mark.parametrize("change", EXTENSION_GAPS.values(), ids=EXTENSION_GAPS.keys())
def test_a_certificate_with_extensions_the_tasks_would_change_is_not_current(pki, change):
    change(pki)
    assert pki.current(["registry"])["current"] is False


def test_every_named_certificate_counts(pki):
    pki.leaf("gateway", sans=SANS)
    assert pki.current(["registry", "gateway"]) == {"current": True, "reason": ""}
    pki.path("gateway.crt").unlink()
    out = pki.current(["registry", "gateway"])
    assert out["current"] is False and str(pki.path("gateway.crt")) in out["reason"]


def test_a_file_that_is_not_pem_is_not_current(pki):
    pki.path("registry.crt").write_text("junk\n")
    out = pki.current(["registry"])
    assert out["current"] is False and "is not a PEM certificate" in out["reason"]
    pki.path("ca.key").write_text("junk\n")
    out = pki.current()
    assert out["current"] is False and "is not an unencrypted PEM private key" in out["reason"]


def test_bad_arguments_raise(pki):
    with pytest.raises(AnsibleLookupError, match="needs subject_alt_names"):
        make_lookup().run(["registry"], {}, ca_dir=str(pki.dir), ca_common_name=CA_CN)
    for bad in ("sub/registry", "../registry", ".hidden", "", "ca"):
        with pytest.raises(AnsibleLookupError, match="is not a certificate name"):
            make_lookup().run([bad], {}, ca_dir=str(pki.dir), ca_common_name=CA_CN, subject_alt_names=SANS)


@pytest.mark.parametrize("entry", ["URI:x", "IP:bad", "IP:10.0.0.0/24", "DNS:", "DNS:b\u00fcro", "email:a@b"])
def test_a_name_the_lookup_does_not_compare_leaves_it_to_the_tasks(pki, entry):
    # community.crypto reads every kind (an IP network, IDNA names): the tasks decide
    out = make_lookup().run(
        ["registry"], {}, ca_dir=str(pki.dir), ca_common_name=CA_CN, subject_alt_names=[*SANS, entry]
    )
    assert out == [{"current": False, "reason": out[0]["reason"]}]
    assert repr(entry) in out[0]["reason"] and "not one this lookup compares" in out[0]["reason"]


def test_the_authority_key_identifier_is_compared_whole(pki):
    # x509_certificate re-issues a leaf whose AKI also names the CA's issuer and serial
    ca_cert = x509.load_pem_x509_certificate(pki.path("ca.crt").read_bytes())
    full = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())
    full = x509.AuthorityKeyIdentifier(
        full.key_identifier, [x509.DirectoryName(ca_cert.subject)], ca_cert.serial_number
    )
    pki.leaf(aki=False, extra=[(full, False)])
    out = pki.current(["registry"])
    assert out["current"] is False and "authority key identifier" in out["reason"]


def test_a_file_the_library_cannot_read_through_is_not_current(pki, monkeypatch):
    def broken(*_args):
        raise x509.DuplicateExtension("two of one", x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME)

    monkeypatch.setattr(plugin, "check_cert", broken)
    out = pki.current(["registry"])
    assert out["current"] is False and out["reason"].startswith("DuplicateExtension: two of one")


# --- the real role tasks, on localhost, with the real community.crypto modules ---

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
PLAYBOOK = """\
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - ansible.builtin.include_role:
        name: sophia.lambda_swarm.registry
        tasks_from: ca
      vars:
        registry_ca_dir: %s
        registry_ca_common_name: test CA
        registry_address: "127.0.0.1:5000"
        registry_host: localhost
"""
ISSUING_TASKS = [
    "CA directory",
    "CA key",
    "CA certificate request",
    "CA certificate (self-signed, 10 years)",
    "Key of registry",
    "Request of registry",
    "Certificate signed by the CA for 2 years for registry",
]


def _play(playbook):
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}  # fmt: skip
    if (ROOT / ".collections").is_dir():
        env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".collections")
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(playbook)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    recap = re.search(r"^localhost\s*:\s*(.*)$", proc.stdout, re.MULTILINE)
    assert recap, proc.stdout
    counts = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", recap.group(1))}
    tasks = {}
    for block in proc.stdout.split("TASK [")[1:]:
        title, body = block.split("]", 1) if "]" in block else (block, "")
        tasks[title.rpartition(" : ")[2]] = body
    return counts, tasks, proc.stdout


@pytest.mark.skipif(not ANSIBLE_PLAYBOOK.exists(), reason="ansible-playbook is not next to sys.executable")
def test_the_role_tasks_leave_what_the_lookup_calls_current(tmp_path):
    ca_dir = tmp_path / "ca"
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK % ca_dir)

    def current():
        return x509_current(str(ca_dir), CA_CN, ["registry"], SANS)

    assert current()["current"] is False
    counts, tasks, out = _play(playbook)
    assert counts["failed"] == 0 and counts["changed"] >= 4, out
    assert current() == {"current": True, "reason": ""}
    before = {f: (ca_dir / f).read_bytes() for f in ("ca.key", "ca.crt", "registry.key", "registry.crt")}

    counts, tasks, out = _play(playbook)
    assert counts["changed"] == 0 and counts["failed"] == 0, out
    for task in ISSUING_TASKS:
        assert "skipping: [localhost]" in tasks[task], out
    assert {f: (ca_dir / f).read_bytes() for f in before} == before

    (ca_dir / "ca.key").chmod(0o644)
    out_of_date = current()
    assert out_of_date["current"] is False and "ca.key has mode 0644" in out_of_date["reason"]
    counts, tasks, out = _play(playbook)
    assert counts["changed"] >= 1 and counts["failed"] == 0, out
    assert "changed: [localhost]" in tasks["CA key"], out
    assert "skipping: [localhost]" in tasks["Key of registry"], out  # the certificate was current
    assert (ca_dir / "ca.key").stat().st_mode & 0o777 == 0o600
    assert current() == {"current": True, "reason": ""}
    assert {f: (ca_dir / f).read_bytes() for f in before} == before
