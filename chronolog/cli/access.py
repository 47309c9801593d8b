"""``chronolog admin login|logout|tenant|credentials|investigators``: sessions, tenants,
credentials, and the accounts investigators sign in to the console with.

A login asks for the name, the password and the current TOTP code (or takes ``--user``,
``--password-stdin``, ``--totp``) and keeps the session it gets (chronolog/cli/session.py) for
the other ``chronolog admin`` commands. A new credential's token or key is shown (or written)
once; the collector does not keep it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from chronolog.cli import session
from chronolog.cli.client import ApiClient
from chronolog.cliutil import Failure, UsageError, new_password

__all__ = ["add_access_parsers", "run_credentials", "run_investigators", "run_login", "run_logout",
           "run_tenant"]


def add_access_parsers(asub: Any) -> None:
    login = asub.add_parser("login", help="log in with password and TOTP code; keeps a 15-minute session")
    login.add_argument("--user", help="administrator name (asked if absent)")
    login.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin (asked if absent)")
    login.add_argument("--totp", metavar="CODE", help="the current 6-digit code (asked if absent)")
    asub.add_parser("logout", help="end the session now")

    t = asub.add_parser("tenant", help="create or list tenants")
    tsub = t.add_subparsers(dest="tenant_command", required=True, metavar="ACTION")
    tc = tsub.add_parser("create", help="create a tenant and its key (credentials need one)")
    tc.add_argument("name")
    tsub.add_parser("list", help="the tenants this administrator may see")

    c = asub.add_parser("credentials", help="issue, list and revoke agent and investigator credentials")
    csub = c.add_subparsers(dest="credentials_command", required=True, metavar="ACTION")
    ci = csub.add_parser("issue", help="a token (or, with --cert DIR, a client certificate), shown once")
    ci.add_argument("--tenant", required=True)
    ci.add_argument("--role", required=True, choices=("agent", "investigator"))
    ci.add_argument("--name", required=True, help="who or what holds it, e.g. the host name")
    where = ci.add_mutually_exclusive_group()
    where.add_argument("--token-file", dest="issued_token_file", type=Path,
                       help="write the token to this new file (mode 0600) instead of stdout")
    where.add_argument("--cert", type=Path, metavar="DIR",
                       help="issue a client certificate instead: writes NAME.crt, NAME.key (0600) and "
                       "ca.crt into DIR")
    cl = csub.add_parser("list", help="credentials in this administrator's scope (never a token)")
    cl.add_argument("--tenant", help="only this tenant")
    cr = csub.add_parser("revoke", help="revoke a credential (a dry run without --confirm)")
    cr.add_argument("id")
    cr.add_argument("--confirm", metavar="ID", help="do it: repeat the credential id")

    i = asub.add_parser("investigators", help="console accounts of investigators (password and TOTP)")
    isub = i.add_subparsers(dest="investigators_command", required=True, metavar="ACTION")
    ia = isub.add_parser("add", help="create an account for one tenant; prints its TOTP secret once")
    ia.add_argument("name")
    ia.add_argument("--tenant", required=True, help="the one tenant it reads")
    ia.add_argument("--password-stdin", action="store_true",
                    help="read the password from the first line of stdin instead of asking twice")
    il = isub.add_parser("list", help="accounts in this administrator's scope (never a secret)")
    il.add_argument("--tenant", help="only this tenant")
    idis = isub.add_parser("disable", help="disable an account; its console sessions end at once")
    idis.add_argument("name")


def run_login(api: ApiClient, args: argparse.Namespace, path: Path) -> int:
    user = args.user or input("administrator: ").strip()
    password = (sys.stdin.readline().rstrip("\n") if args.password_stdin
                else getpass.getpass(f"password for {user}: "))
    code = args.totp or input("TOTP code: ").strip()
    if not user or not password or not code:
        raise UsageError("a login needs the name, the password and the TOTP code")
    answer = api.post_json("/v1/admin/login", {"user": user, "password": password, "totp": code})
    session.save(path, api.base_url, answer)
    print(f"logged in as {answer['user']} (scope {answer['scope']}) until {answer['expires']}; "
          f"session kept in {path}", file=sys.stderr)
    return 0


def run_logout(api: ApiClient, args: argparse.Namespace, path: Path) -> int:
    if session.load(path, api.base_url) is None:
        session.forget(path)
        raise Failure("not logged in to this collector")
    api.post_json("/v1/admin/logout", {})
    session.forget(path)
    print("logged out", file=sys.stderr)
    return 0


def run_tenant(api: ApiClient, args: argparse.Namespace) -> int:
    if args.tenant_command == "create":
        api.post_json("/v1/admin/tenants", {"tenant": args.name})
        print(f"created tenant {args.name}", file=sys.stderr)
    else:
        for name in api.get_json("/v1/admin/tenants")["tenants"]:
            print(name)
    return 0


def _write_new(path: Path, data: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as f:
        f.write(data)


def run_credentials(api: ApiClient, args: argparse.Namespace) -> int:
    action = args.credentials_command
    if action == "issue":
        for target in ([args.issued_token_file] if args.issued_token_file else []) + (
                [args.cert / f"{args.name}.key", args.cert / f"{args.name}.crt"] if args.cert else []):
            if target.exists():
                raise Failure(f"{target} already exists; not overwriting a credential")
        doc = api.post_json("/v1/admin/credentials", {"tenant": args.tenant, "role": args.role,
                                                      "name": args.name, "cert": args.cert is not None})
        if args.cert is not None:
            args.cert.mkdir(parents=True, exist_ok=True)
            _write_new(args.cert / f"{args.name}.key", doc["key"], 0o600)
            _write_new(args.cert / f"{args.name}.crt", doc["certificate"], 0o644)
            (args.cert / "ca.crt").write_text(doc["ca"])
            print(f"issued {doc['id']}: {args.cert / (args.name + '.crt')} and its key", file=sys.stderr)
        elif args.issued_token_file is not None:
            _write_new(args.issued_token_file, doc["token"] + "\n", 0o600)
            print(f"issued {doc['id']}", file=sys.stderr)
        else:
            print(doc["token"])
            print(f"issued {doc['id']}", file=sys.stderr)
    elif action == "list":
        params = [("tenant", args.tenant)] if args.tenant else []
        for e in api.get_json("/v1/admin/credentials", params)["credentials"]:
            state = f"revoked {e['revoked']}" if e["revoked"] else "live"
            print(f"{e['id']}\t{e['tenant']}\t{e['role']}\t{e['name']}\t{e.get('kind') or 'token'}\t{state}")
    else:
        body = {"id": args.id, **({"confirm": args.confirm} if args.confirm else {})}
        doc = api.post_json("/v1/admin/credentials/revoke", body)
        if doc["dry_run"]:
            c = doc["credential"]
            print(f"would revoke {c['id']}: {c['role']} {c['name']} of tenant {c['tenant']} "
                  f"({c.get('kind') or 'token'}); its holder is refused from then on")
            print(f"# dry run: nothing was changed. To revoke, repeat with --confirm {c['id']}",
                  file=sys.stderr)
        else:
            print(f"revoked {doc['revoked']}", file=sys.stderr)
    return 0


def run_investigators(api: ApiClient, args: argparse.Namespace) -> int:
    action = args.investigators_command
    if action == "add":
        password = new_password(args.password_stdin, "investigator (typed by them)")
        doc = api.post_json("/v1/admin/investigators", {"tenant": args.tenant, "name": args.name,
                                                        "password": password})
        print(doc["uri"])
        print(f"secret (base32): {doc['secret']}")
        print(f"investigator {doc['name']} (tenant {doc['tenant']}) created. Add the secret to an "
              "authenticator app now (TOTP, SHA-256, 6 digits, 30 s): it is not shown again. Sign in at "
              f"{api.base_url}/console/", file=sys.stderr)
    elif action == "list":
        params = [("tenant", args.tenant)] if args.tenant else []
        for a in api.get_json("/v1/admin/investigators", params)["investigators"]:
            state = f"disabled {a['disabled']}" if a["disabled"] else "enabled"
            print(f"{a['name']}\t{a['tenant']}\tcreated {a['created']}\t{state}\tfailures {a['failures']}")
    else:
        doc = api.post_json("/v1/admin/investigators/disable", {"name": args.name})
        print(f"disabled {doc['disabled']}; {doc['sessions_ended']} console session(s) ended",
              file=sys.stderr)
    return 0
