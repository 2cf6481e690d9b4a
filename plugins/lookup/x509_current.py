# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: x509_current
short_description: Whether the registry role's CA and certificates are as its tasks leave them
version_added: 0.2.0
description:
  - Reads the registry role's CA folder on the controller, changes nothing, and says whether the
    CA and each named certificate are exactly what the role's community.crypto tasks
    (M(community.crypto.openssl_privatekey), M(community.crypto.openssl_csr_pipe),
    M(community.crypto.x509_certificate)) would leave unchanged. The role runs those tasks only
    when this says C(current=false), so a re-run reads files instead of running ten tasks.
  - "The CA (C(ca.key), C(ca.crt)): the folder has mode 0700; the key is an unencrypted
    ECC key on secp256r1 with mode 0600; the certificate has mode 0644, holds the key's public
    key, is self-signed, its subject is the common name only, and its extensions are exactly
    basic constraints C(CA:TRUE, pathlen:0) and key usage C(keyCertSign, cRLSign), both
    critical, and the subject key identifier of its key."
  - "Each named certificate (C(NAME.key), C(NAME.crt)): the same key rules; the certificate
    has mode 0644, holds its key's public key, is issued and signed by the CA's certificate,
    its subject is the common name only (the value of the first subject alternative name),
    and its extensions are exactly the subject alternative names O(subject_alt_names) in that
    order, the extended key usage C(serverAuth), the subject key identifier of its key and
    the authority key identifier of the CA's, none of them critical."
  - Every certificate must also be valid now. The tasks keep a certificate whatever its dates,
    so an expired one makes them run on every run (and keeps it). Anything else, a file that
    cannot be read or parsed included, gives C(current=false) with the reason; the role then
    runs its tasks, which decide what to change.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
options:
  _terms:
    description: >-
      Names of certificates issued by the CA (files C(NAME.key) and C(NAME.crt)); none for the
      CA alone.
    required: false
    type: list
    elements: str
  ca_dir:
    description: The CA folder (the registry role's C(registry_ca_dir)).
    type: path
    required: true
  ca_common_name:
    description: The CA's common name (C(registry_ca_common_name)).
    type: str
    required: true
  subject_alt_names:
    description: >-
      The subject alternative names every named certificate must have, in this order, as the
      role writes them (C(IP:10.0.0.1), C(DNS:host)); the first one's value is the common
      name. Required with names. An entry of another kind (or an IP network, or a name that
      is not ASCII) gives C(current=false): the tasks decide.
    type: list
    elements: str
    default: []
notes:
  - The checks follow the role's tasks in C(roles/registry/tasks/ca.yml) and C(cert.yml); a change
    to what those tasks request must change the checks here too (unit tests issue files with
    the same parameters).
"""

EXAMPLES = r"""
- name: Whether the gateway's certificate must be issued
  ansible.builtin.set_fact:
    gateway_pki: >-
      {{ query('sophia.lambda_swarm.x509_current', 'gateway', ca_dir=registry_ca_dir,
               ca_common_name=registry_ca_common_name,
               subject_alt_names=['IP:10.0.0.1', 'DNS:gw']) | first }}
"""

RETURN = r"""
_raw:
  description: One dictionary.
  type: list
  elements: dict
  contains:
    current:
      description: Whether the CA and every named certificate are current.
      type: bool
    reason:
      description: The first thing found not current (empty when current).
      type: str
"""

import datetime
import ipaddress
import os
import stat

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # pragma: no cover - ansible-core requires cryptography
    x509 = None


class NotCurrent(Exception):
    """The first reason a file is not what the role's tasks leave."""


def _mode(path, wanted):
    try:
        st = os.stat(path)
    except OSError:
        raise NotCurrent("%s is missing" % path) from None
    if stat.S_IMODE(st.st_mode) != wanted:
        raise NotCurrent("%s has mode %04o, not %04o" % (path, stat.S_IMODE(st.st_mode), wanted))


def _read(path, mode):
    _mode(path, mode)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise NotCurrent("%s cannot be read: %s" % (path, exc)) from None


def load_key(path):
    """The unencrypted secp256r1 private key at path (mode 0600)."""
    data = _read(path, 0o600)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise NotCurrent("%s is not an unencrypted PEM private key (%s)" % (path, exc)) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise NotCurrent("%s is not an ECC key on secp256r1" % path)
    return key


def _validity(cert):
    """(not before, not after) as aware datetimes (cryptography before 42 has naive ones only)."""
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    utc = datetime.timezone.utc
    return cert.not_valid_before.replace(tzinfo=utc), cert.not_valid_after.replace(tzinfo=utc)


def load_cert(path, key, now):
    """The PEM certificate at path (mode 0644), holding key's public key, valid at now."""
    data = _read(path, 0o644)
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise NotCurrent("%s is not a PEM certificate (%s)" % (path, exc)) from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if cert.public_key().public_bytes(der, public) != key.public_key().public_bytes(der, public):
        raise NotCurrent("%s does not hold the public key of its key file" % path)
    before, after = _validity(cert)
    if not before <= now < after:
        raise NotCurrent("%s is not valid now (%s to %s)" % (path, before, after))
    return cert


def _signed_by(cert, issuer, path):
    if cert.issuer != issuer.subject:
        raise NotCurrent("%s is not issued by the CA (%s)" % (path, cert.issuer.rfc4514_string()))
    try:
        issuer.public_key().verify(
            cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
        )
    except Exception:  # cryptography's InvalidSignature, or an algorithm the key cannot verify
        raise NotCurrent("%s is not signed by the CA's key" % path) from None


def _extensions(cert, wanted, path):
    """{class: extension} of cert, whose extensions must be exactly the classes in wanted."""
    have = {}
    for ext in cert.extensions:
        have[type(ext.value)] = ext
    if set(have) != set(wanted):
        names = sorted(cls.__name__ for cls in set(have) ^ set(wanted))
        raise NotCurrent("%s's extensions differ from what the tasks request (%s)" % (path, ", ".join(names)))
    return have


def _key_identifier(cert, exts, path):
    """Raises NotCurrent unless the subject key identifier is the one of cert's own key."""
    ski = exts[x509.SubjectKeyIdentifier]
    own = x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    if ski.critical or ski.value.digest != own:
        raise NotCurrent("%s's subject key identifier is not its key's" % path)


def _common_name_only(cert, common_name, path):
    if cert.subject != x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]):
        raise NotCurrent("%s has subject %s, not CN=%s" % (path, cert.subject.rfc4514_string(), common_name))


def check_ca(ca_dir, common_name, now):
    """The CA's certificate when the CA is current; raises NotCurrent otherwise."""
    _mode(ca_dir, 0o700)
    path = os.path.join(ca_dir, "ca.crt")
    cert = load_cert(path, load_key(os.path.join(ca_dir, "ca.key")), now)
    _common_name_only(cert, common_name, path)
    _signed_by(cert, cert, path)
    exts = _extensions(cert, (x509.BasicConstraints, x509.KeyUsage, x509.SubjectKeyIdentifier), path)
    basic = exts[x509.BasicConstraints]
    if not (basic.critical and basic.value.ca and basic.value.path_length == 0):
        raise NotCurrent("%s is not a critical CA:TRUE, pathlen:0" % path)
    usage = exts[x509.KeyUsage]
    v = usage.value
    wanted = (True, True, False, False, False, False, False)
    have = (v.key_cert_sign, v.crl_sign, v.digital_signature, v.content_commitment, v.key_encipherment,
            v.data_encipherment, v.key_agreement)  # fmt: skip
    if not usage.critical or have != wanted:
        raise NotCurrent("%s's key usage is not a critical keyCertSign, cRLSign" % path)
    _key_identifier(cert, exts, path)
    return cert


def general_names(subject_alt_names):
    """The x509 general names of entries IP:<address> and DNS:<name>, in their order. Any
    other entry (another kind, an IP network, a name that is not ASCII) raises NotCurrent:
    the tasks, which read every kind, decide."""
    names = []
    for text in subject_alt_names:
        parts = str(text).partition(":")
        kind, value = parts[0], parts[2]
        try:
            if kind == "IP":
                names.append(x509.IPAddress(ipaddress.ip_address(value)))
                continue
            if kind == "DNS" and value and value.isascii():
                names.append(x509.DNSName(value))
                continue
        except ValueError:
            pass
        raise NotCurrent(
            "subject_alt_names entry %r is not one this lookup compares (IP:<address>, DNS:<name>)" % text
        )
    return names


def check_cert(ca_dir, name, ca_cert, subject_alt_names, now):
    """Raises NotCurrent unless NAME.crt is what the role's cert tasks leave."""
    wanted = general_names(subject_alt_names)
    path = os.path.join(ca_dir, name + ".crt")
    cert = load_cert(path, load_key(os.path.join(ca_dir, name + ".key")), now)
    _signed_by(cert, ca_cert, path)
    _common_name_only(cert, str(subject_alt_names[0]).partition(":")[2], path)
    wanted_exts = (x509.SubjectAlternativeName, x509.ExtendedKeyUsage, x509.SubjectKeyIdentifier,
                   x509.AuthorityKeyIdentifier)  # fmt: skip
    exts = _extensions(cert, wanted_exts, path)
    if any(ext.critical for ext in exts.values()):
        raise NotCurrent("%s has a critical extension (the tasks request none)" % path)
    if list(exts[x509.SubjectAlternativeName].value) != wanted:
        raise NotCurrent(
            "%s's subject alternative names differ from %s (in order)" % (path, ", ".join(subject_alt_names))
        )
    if list(exts[x509.ExtendedKeyUsage].value) != [ExtendedKeyUsageOID.SERVER_AUTH]:
        raise NotCurrent("%s's extended key usage is not serverAuth only" % path)
    _key_identifier(cert, exts, path)
    # the whole value, as x509_certificate compares it: the CA's key identifier (check_ca made sure
    # it is its key's), no issuer or serial
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    wanted_aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski)
    if exts[x509.AuthorityKeyIdentifier].value != wanted_aki:
        raise NotCurrent("%s's authority key identifier is not the CA's" % path)


def x509_current(ca_dir, ca_common_name, names=(), subject_alt_names=(), now=None):
    """{current, reason} for the CA in ca_dir and each certificate in names."""
    if x509 is None:  # pragma: no cover
        return {"current": False, "reason": "the cryptography library is missing on the controller"}
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        ca_cert = check_ca(ca_dir, ca_common_name, now)
        for name in names:
            check_cert(ca_dir, name, ca_cert, list(subject_alt_names), now)
    except NotCurrent as exc:
        return {"current": False, "reason": str(exc)}
    except Exception as exc:  # pylint: disable=broad-except
        # a file the library cannot read through (a duplicate extension, an unsupported
        # algorithm): the tasks decide what to do with it
        return {"current": False, "reason": "%s: %s" % (type(exc).__name__, exc)}
    return {"current": True, "reason": ""}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        names = [str(t) for t in terms or []]
        for name in names:
            if not name or "/" in name or name.startswith(".") or name == "ca":
                raise AnsibleLookupError(
                    "x509_current: %r is not a certificate name (NAME.crt in ca_dir; ca is the CA's)" % name
                )
        sans = self.get_option("subject_alt_names") or []
        if names and not sans:
            raise AnsibleLookupError("x509_current: a certificate needs subject_alt_names (its CN first)")
        return [
            x509_current(
                self.get_option("ca_dir"),
                self.get_option("ca_common_name"),
                names,
                sans,
            )
        ]
