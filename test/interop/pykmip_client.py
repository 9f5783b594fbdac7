#!/usr/bin/python3
"""PyKMIP driver for Keyhaven's interoperability test (test/interop/pykmip.test.ts).

Runs one scenario against a KMIP server with PyKMIP (Debian python3-pykmip 0.10) and prints one
JSON document on stdout: {"scenario": ..., "steps": [{"step", "ok", "detail" | "error"}], ...}.
It asserts nothing itself: every value the server returned is reported and the TypeScript test
checks it, so a wrong answer shows up as a failed assertion with the actual value.

usage: pykmip_client.py --host H --port P --cert C --key K --ca CA [--version 1.2] [--tag T]
                        [--uid U] [--name N] [--uids U1,U2] SCENARIO

scenarios:
  suite     the owner's session: create, get, activate, attributes, locate, secret data,
            revoke, destroy, custom attributes, query, discover versions, locate with maximum items
  foreign   another identity tries the owner's key (--uid, --name) and lists what it can see
  owner     the owner checks its key (--uid) is untouched
  versions  create/get/destroy once per protocol version 1.0 to 1.4
  credential  one Query with the username/password given by --username/--password (or none)
  crypto    Encrypt and Decrypt: CBC with PKCS5 padding, CTR with the client's IV, the server's defaults,
            before activation and with tampered data (both refused)
"""
import argparse
import json
import logging
import os
import sys
import time
import traceback
import warnings

warnings.simplefilter("ignore")  # ssl.wrap_socket is deprecated in 3.10+, PyKMIP 0.10 still uses it
logging.disable(logging.CRITICAL)

from kmip import enums  # noqa: E402
from kmip.core import enums as core_enums  # noqa: E402
from kmip.core import exceptions as kmip_core_exceptions  # noqa: E402
from kmip.core import objects as cobjects  # noqa: E402
from kmip.core import primitives  # noqa: E402
from kmip.core import utils as kutils  # noqa: E402
from kmip.core.factories import attributes as attribute_factories  # noqa: E402
from kmip.core.factories.payloads.response import ResponsePayloadFactory  # noqa: E402
from kmip.core.messages import payloads  # noqa: E402
from kmip.core.messages.contents import ProtocolVersion  # noqa: E402
from kmip.pie import exceptions as pie_exceptions  # noqa: E402
from kmip.pie import objects as pobjects  # noqa: E402
from kmip.pie.client import ProxyKmipClient  # noqa: E402

ATTRS = attribute_factories.AttributeFactory()

VERSIONS = {
    "1.0": enums.KMIPVersion.KMIP_1_0,
    "1.1": enums.KMIPVersion.KMIP_1_1,
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.3": enums.KMIPVersion.KMIP_1_3,
    "1.4": enums.KMIPVersion.KMIP_1_4,
}


# --- Add Attribute: PyKMIP 0.10 has no payload classes for it, so they are defined here --------
class AddAttributeRequestPayload(payloads.RequestPayload):
    def __init__(self, unique_identifier, attribute):
        super().__init__()
        self.unique_identifier = unique_identifier
        self.attribute = attribute

    def write(self, ostream, kmip_version=core_enums.KMIPVersion.KMIP_1_0):
        t = kutils.BytearrayStream()
        primitives.TextString(self.unique_identifier, core_enums.Tags.UNIQUE_IDENTIFIER).write(t, kmip_version=kmip_version)
        self.attribute.write(t, kmip_version=kmip_version)
        self.length = t.length()
        super().write(ostream, kmip_version=kmip_version)
        ostream.write(t.buffer)


class AddAttributeResponsePayload(payloads.ResponsePayload):
    def __init__(self):
        super().__init__()
        self.unique_identifier = None
        self.attribute = None

    def read(self, istream, kmip_version=core_enums.KMIPVersion.KMIP_1_0):
        super().read(istream, kmip_version=kmip_version)
        t = kutils.BytearrayStream(istream.read(self.length))
        uid = primitives.TextString(tag=core_enums.Tags.UNIQUE_IDENTIFIER)
        uid.read(t, kmip_version=kmip_version)
        self.unique_identifier = uid.value
        self.attribute = cobjects.Attribute()
        self.attribute.read(t, kmip_version=kmip_version)
        self.is_oversized(t)


ResponsePayloadFactory._create_add_attribute_payload = lambda self: AddAttributeResponsePayload()


# --- helpers ------------------------------------------------------------------------------------
def plain(v):
    """A JSON-able rendering of a PyKMIP attribute value."""
    if v is None:
        return None
    if hasattr(v, "name_value"):  # Name
        return {"value": v.name_value.value, "type": v.name_type.value.name}
    if isinstance(v, primitives.Enumeration) or hasattr(v, "enum"):
        x = v.value
        return x.name if hasattr(x, "name") else x
    if isinstance(v, primitives.Base) and hasattr(v, "value"):
        x = v.value
        if isinstance(x, (bytes, bytearray)):
            return x.hex()
        if hasattr(x, "name"):
            return x.name
        return x
    if hasattr(v, "name"):
        return v.name
    return str(v)


def enum_name(o, enum=None):
    """An Enumeration primitive, an enum member or a plain int, as the enum's name where known."""
    x = getattr(o, "value", o)
    if isinstance(x, int) and enum is not None:
        try:
            x = enum(x)
        except ValueError:
            return x
    return getattr(x, "name", x)


def attributes_dict(attrs):
    out = {}
    for a in attrs:
        out.setdefault(a.attribute_name.value, []).append(plain(a.attribute_value))
    return out


def failure(e):
    """Result status/reason of a failed operation, as names."""
    status = getattr(e, "status", None)
    reason = getattr(e, "reason", None)
    return {
        "kind": type(e).__name__,
        "status": status.name if hasattr(status, "name") else status,
        "reason": reason.name if hasattr(reason, "name") else reason,
        "message": str(getattr(e, "message", "") or e),
    }


class ResultFailure(Exception):
    """A failed KMIPProxy result (KMIPProxy returns those instead of raising)."""

    def __init__(self, status, reason, message):
        super().__init__("%s: %s - %s" % (status, reason, message))
        self.status = status
        self.reason = reason
        self.message = message


def checked(result):
    """A KMIPProxy result, or ResultFailure when its Result Status is not Success."""
    if result.result_status.value != enums.ResultStatus.SUCCESS:
        raise ResultFailure(result.result_status.value,
                            result.result_reason.value if result.result_reason else None,
                            result.result_message.value if result.result_message else None)
    return result


class Recorder:
    def __init__(self):
        self.steps = []

    def run(self, step, fn):
        """Runs fn(); records its result (a dict) or the failure. Returns the result or None."""
        try:
            detail = fn()
            self.steps.append({"step": step, "ok": True, "detail": detail if detail is not None else {}})
            return detail if detail is not None else {}
        except Exception as e:  # noqa: BLE001 - every failure is a result to report
            err = failure(e)
            if not isinstance(e, (pie_exceptions.KmipOperationFailure, kmip_core_exceptions.OperationFailure, ResultFailure)):
                err["trace"] = traceback.format_exc(limit=3)
            self.steps.append({"step": step, "ok": False, "error": err})
            return None


def connect(args, version="1.2", username=None, password=None):
    c = ProxyKmipClient(
        hostname=args.host,
        port=args.port,
        cert=args.cert,
        key=args.key,
        ca=args.ca,
        username=username,
        password=password,
        config_file="/dev/null",
        kmip_version=VERSIONS[version],
    )
    return c


def key_summary(key):
    return {
        "object_type": type(key).__name__,
        "algorithm": key.cryptographic_algorithm.name if getattr(key, "cryptographic_algorithm", None) else None,
        "cryptographic_length": getattr(key, "cryptographic_length", None),
        "value_bytes": len(key.value),
        "value_hex": key.value.hex(),
    }


# --- scenarios ----------------------------------------------------------------------------------
def suite(args):
    r = Recorder()
    tag = args.tag
    out = {}
    with connect(args, args.version) as c:
        keys = {}
        for bits in (128, 192, 256):
            name = "interop-aes%d-%s" % (bits, tag)
            uid = r.run("create AES-%d" % bits, lambda: {
                "uid": c.create(enums.CryptographicAlgorithm.AES, bits, name=name,
                                cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                                                          enums.CryptographicUsageMask.DECRYPT]),
                "name": name})
            if uid:
                keys[bits] = uid
                r.run("get AES-%d" % bits, lambda: key_summary(c.get(uid["uid"])))

        k128 = keys.get(128, {}).get("uid")
        r.run("activate", lambda: (c.activate(k128), {"uid": k128})[1])
        r.run("get attributes", lambda: {
            "attributes": attributes_dict(c.get_attributes(k128, ["State", "Name", "Cryptographic Length",
                                                                  "Cryptographic Algorithm"])[1])})
        r.run("locate by name", lambda: {"uids": c.locate(attributes=[
            ATTRS.create_attribute(enums.AttributeType.NAME, keys.get(128, {}).get("name"))]), "expected": k128})

        # MongoDB-style: a Secret Data object registered over KMIP 1.2, fetched back byte-identical
        secret = os.urandom(32)
        out["secret_hex"] = secret.hex()
        with connect(args, "1.2") as c12:
            sd = pobjects.SecretData(secret, enums.SecretDataType.PASSWORD,
                                     masks=[enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT],
                                     name="interop-secret-%s" % tag)
            reg = r.run("register secret data (1.2)", lambda: {"uid": c12.register(sd)})
            if reg:
                r.run("get secret data (1.2)", lambda: (lambda o: {
                    "object_type": type(o).__name__,
                    "data_type": o.data_type.name,
                    "value_hex": o.value.hex(),
                })(c12.get(reg["uid"])))

        r.run("revoke (key compromise)", lambda: {"result": c.revoke(
            enums.RevocationReasonCode.KEY_COMPROMISE, k128, revocation_message="interop test",
            compromise_occurrence_date=int(time.time()) - 60)})
        r.run("state after revoke", lambda: {
            "attributes": attributes_dict(c.get_attributes(k128, ["State"])[1])})
        r.run("destroy", lambda: {"uid": c.destroy(k128)})
        r.run("get after destroy", lambda: key_summary(c.get(k128)))

        # Custom attributes (KMIP 1.x Add/Modify/Delete Attribute) through the lower-level proxy
        k192 = keys.get(192, {}).get("uid")
        r.run("add attribute x-purpose", lambda: (lambda p: {"uid": p.unique_identifier,
                                                            "name": p.attribute.attribute_name.value,
                                                            "value": plain(p.attribute.attribute_value)})(
            c.proxy.send_request_payload(enums.Operation.ADD_ATTRIBUTE, AddAttributeRequestPayload(
                k192, ATTRS.create_attribute("x-purpose", "interop")))))
        r.run("get x-purpose", lambda: {"attributes": attributes_dict(c.get_attributes(k192, ["x-purpose"])[1])})
        r.run("modify attribute x-purpose", lambda: (lambda res: {"uid": res[0], "value": plain(res[1].attribute_value)})(
            c.modify_attribute(k192, attribute=ATTRS.create_attribute("x-purpose", "changed", 0))))
        r.run("get x-purpose after modify", lambda: {"attributes": attributes_dict(c.get_attributes(k192, ["x-purpose"])[1])})
        r.run("delete attribute x-purpose", lambda: (lambda res: {"uid": res[0], "value": plain(res[1].attribute_value) if res[1] else None})(
            c.delete_attribute(k192, attribute_name="x-purpose", attribute_index=0)))
        r.run("get x-purpose after delete", lambda: {"attributes": attributes_dict(c.get_attributes(k192, ["x-purpose"])[1])})
        r.run("get attribute list", lambda: {"names": c.get_attribute_list(k192)})

        r.run("query", lambda: (lambda q: {
            "status": q.result_status.value.name,
            "operations": [enum_name(o, enums.Operation) for o in (q.operations or [])],
            "object_types": [enum_name(o, enums.ObjectType) for o in (q.object_types or [])],
            "vendor": plain(q.vendor_identification) if not isinstance(q.vendor_identification, str) else q.vendor_identification,
        })(checked(c.proxy.query(query_functions=[enums.QueryFunction.QUERY_OPERATIONS, enums.QueryFunction.QUERY_OBJECTS,
                                                  enums.QueryFunction.QUERY_SERVER_INFORMATION]))))
        r.run("discover versions", lambda: (lambda d: {
            "status": d.result_status.value.name,
            "versions": ["%d.%d" % (v.major, v.minor) for v in (d.protocol_versions or [])],
        })(checked(c.proxy.discover_versions())))
        r.run("discover versions (1.0, 2.0 offered)", lambda: (lambda d: {
            "status": d.result_status.value.name,
            "versions": ["%d.%d" % (v.major, v.minor) for v in (d.protocol_versions or [])],
        })(checked(c.proxy.discover_versions(protocol_versions=[
            ProtocolVersion(2, 0), ProtocolVersion(1, 0)]))))
        r.run("locate all", lambda: {"uids": c.locate()})
        r.run("locate maximum items 1", lambda: {"uids": c.locate(maximum_items=1)})
        r.run("locate maximum items 2", lambda: {"uids": c.locate(maximum_items=2)})

        k256 = keys.get(256, {})
        if k256:
            r.run("activate AES-256 (kept)", lambda: (c.activate(k256["uid"]), {"uid": k256["uid"]})[1])
        out["kept"] = k256
    out["scenario"] = "suite"
    out["steps"] = r.steps
    return out


def foreign(args):
    r = Recorder()
    with connect(args, args.version) as c:
        r.run("get", lambda: key_summary(c.get(args.uid)))
        r.run("get attributes", lambda: {"attributes": attributes_dict(c.get_attributes(args.uid, ["State", "Name"])[1])})
        r.run("get attribute list", lambda: {"names": c.get_attribute_list(args.uid)})
        r.run("activate", lambda: (c.activate(args.uid), {"uid": args.uid})[1])
        r.run("revoke", lambda: {"result": c.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, args.uid,
                                                    compromise_occurrence_date=int(time.time()))})
        r.run("destroy", lambda: {"uid": c.destroy(args.uid)})
        r.run("locate by name", lambda: {"uids": c.locate(attributes=[ATTRS.create_attribute(enums.AttributeType.NAME, args.name)])})
        r.run("locate all", lambda: {"uids": c.locate()})
        own = r.run("create own key", lambda: {"uid": c.create(enums.CryptographicAlgorithm.AES, 256)})
        if own:
            r.run("get own key", lambda: key_summary(c.get(own["uid"])))
    return {"scenario": "foreign", "steps": r.steps}


def owner(args):
    r = Recorder()
    with connect(args, args.version) as c:
        r.run("get attributes", lambda: {"attributes": attributes_dict(c.get_attributes(args.uid, ["State", "Name"])[1])})
        r.run("get", lambda: key_summary(c.get(args.uid)))
        r.run("locate all", lambda: {"uids": c.locate()})
    return {"scenario": "owner", "steps": r.steps}


def versions(args):
    r = Recorder()
    for v in VERSIONS:
        with connect(args, v) as c:
            made = r.run("%s create" % v, lambda: {"uid": c.create(enums.CryptographicAlgorithm.AES, 256)})
            if made:
                r.run("%s get" % v, lambda: key_summary(c.get(made["uid"])))
                r.run("%s destroy" % v, lambda: {"uid": c.destroy(made["uid"])})
    return {"scenario": "versions", "steps": r.steps}


def credential(args):
    r = Recorder()
    with connect(args, args.version, args.username, args.password) as c:
        r.run("query", lambda: (lambda q: {
            "status": q.result_status.value.name,
            "operations": [enum_name(o, enums.Operation) for o in (q.operations or [])],
            "object_types": [enum_name(o, enums.ObjectType) for o in (q.object_types or [])],
            "vendor": None,
        })(checked(c.proxy.query(query_functions=[enums.QueryFunction.QUERY_OPERATIONS]))))
        r.run("create", lambda: {"uid": c.create(enums.CryptographicAlgorithm.AES, 128)})
    return {"scenario": "credential", "steps": r.steps}


def crypto(args):
    """Encrypt and Decrypt (KMIP 1.2 cryptographic services) with ProxyKmipClient's own calls."""
    r = Recorder()
    data = b"Keyhaven interop: data a web application never holds the key for"
    with connect(args, args.version) as c:
        made = r.run("create", lambda: {"uid": c.create(enums.CryptographicAlgorithm.AES, 256, cryptographic_usage_mask=[
            enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT])})
        uid = made["uid"] if made else None
        r.run("encrypt before activation", lambda: {"data": c.encrypt(data, uid)[0].hex()})
        r.run("activate", lambda: (c.activate(uid), {"uid": uid})[1])
        cbc = {"cryptographic_algorithm": enums.CryptographicAlgorithm.AES, "block_cipher_mode": enums.BlockCipherMode.CBC,
               "padding_method": enums.PaddingMethod.PKCS5}
        sealed = r.run("encrypt CBC PKCS5", lambda: (lambda d, iv: {"data": d.hex(), "iv": iv.hex() if iv else None})(*c.encrypt(data, uid, cryptographic_parameters=cbc)))
        if sealed:
            r.run("decrypt CBC PKCS5", lambda: {"data": c.decrypt(bytes.fromhex(sealed["data"]), uid, cryptographic_parameters=cbc,
                                                                   iv_counter_nonce=bytes.fromhex(sealed["iv"])).decode()})
        iv = bytes(range(16))
        ctr = {"cryptographic_algorithm": enums.CryptographicAlgorithm.AES, "block_cipher_mode": enums.BlockCipherMode.CTR}
        given = r.run("encrypt CTR with IV", lambda: (lambda d, v: {"data": d.hex(), "iv": v.hex() if v else None})(*c.encrypt(data, uid, cryptographic_parameters=ctr, iv_counter_nonce=iv)))
        if given:
            r.run("decrypt CTR with IV", lambda: {"data": c.decrypt(bytes.fromhex(given["data"]), uid, cryptographic_parameters=ctr, iv_counter_nonce=iv).decode()})
        # No parameters at all: the server's default (GCM; for a 1.2 client the tag follows the data).
        plain = r.run("encrypt defaults", lambda: (lambda d, v: {"data": d.hex(), "iv": v.hex() if v else None})(*c.encrypt(data, uid)))
        if plain:
            r.run("decrypt defaults", lambda: {"data": c.decrypt(bytes.fromhex(plain["data"]), uid, iv_counter_nonce=bytes.fromhex(plain["iv"])).decode()})
            tampered = bytearray(bytes.fromhex(plain["data"]))
            tampered[0] ^= 1
            r.run("decrypt tampered", lambda: {"data": c.decrypt(bytes(tampered), uid, iv_counter_nonce=bytes.fromhex(plain["iv"])).hex()})
    return {"scenario": "crypto", "plaintext": data.decode(), "steps": r.steps}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=["suite", "foreign", "owner", "versions", "credential", "crypto"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--version", default="1.2", choices=sorted(VERSIONS))
    p.add_argument("--tag", default=str(os.getpid()))
    p.add_argument("--uid")
    p.add_argument("--name")
    p.add_argument("--username")
    p.add_argument("--password")
    args = p.parse_args()
    result = {"suite": suite, "foreign": foreign, "owner": owner, "versions": versions, "credential": credential, "crypto": crypto}[args.scenario](args)
    json.dump(result, sys.stdout, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
