"""``chronolog-collector``: run the collector, check its configuration, manage credentials and
administrator accounts; and, on the data directory itself, the master key, offline verify and
restore. (A thin layer: the work is in `collector.offline` and `collector.auth`.)"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from pathlib import Path

from chronolog.cli.reports import render_verify
from chronolog.cliutil import (
    ArgumentParser,
    Failure,
    Option,
    UsageError,
    accept_anywhere,
    new_password,
    run_command,
)
from chronolog.config_loading import ConfigError
from chronolog.fsutil import hand_back
from chronolog.logs import setup_logging
from chronolog.tls import profile_path, reexec_under_policy
from collector import offline
from collector.app import admins_path, credentials_path, serve
from collector.auth.admins import AccountError, AdminAccounts
from collector.auth.ca import CertificateAuthority
from collector.auth.credentials import ALL_TENANTS, ROLES, CredentialError, CredentialStore
from collector.config import CollectorConfig, load_config
from collector.store.keys import FileMasterKeys, KeyringError, master_key_path

PROG = "chronolog-collector"


CONFIG_OPTION: Option = (("-c", "--config"), {"type": Path, "help": "configuration file (default: "
                                                                    "embedded defaults)"})


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="The chronolog collector.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the collector until SIGTERM or Ctrl-C")
    run.add_argument("-c", "--config", type=Path, help="configuration file (default: embedded defaults)")
    run.add_argument("--ready-file", type=Path, help="write where it listens here, as JSON, once ready")

    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("file", type=Path)

    ca = sub.add_parser("ca", help="the small private CA for the collector's and agents' certificates")
    casub = ca.add_subparsers(dest="action", required=True, metavar="ACTION")
    casub.add_parser("init", help="create the CA (ECDSA P-256) in DATA_DIR/ca")
    server = casub.add_parser("server-cert", help="issue the collector's TLS certificate")
    server.add_argument("--name", action="append", required=True,
                        help="DNS name or IP address agents connect to (repeatable)")
    server.add_argument("--out", type=Path, required=True,
                        help="directory for collector.crt and collector.key (0600)")

    cred = sub.add_parser("credentials", help="issue, list and revoke agent and investigator credentials")
    csub = cred.add_subparsers(dest="action", required=True, metavar="ACTION")
    issue = csub.add_parser("issue", help="issue a token; it is shown once")
    issue.add_argument("--tenant", required=True)
    issue.add_argument("--role", required=True, choices=ROLES)
    issue.add_argument("--name", required=True, help="who or what holds it, e.g. the host name")
    where = issue.add_mutually_exclusive_group()
    where.add_argument("--token-file", type=Path,
                       help="write the token to this new file (mode 0600) instead of stdout")
    where.add_argument("--cert-dir", type=Path,
                       help="issue a client certificate (mutual TLS) instead of a token: writes "
                       "NAME.crt, NAME.key (0600) and ca.crt into this directory")
    csub.add_parser("list", help="list credentials (never the tokens)")
    revoke = csub.add_parser("revoke", help="revoke a credential by id (a dry run without --confirm)")
    revoke.add_argument("id")
    revoke.add_argument("--confirm", metavar="ID", help="do it: repeat the credential id")

    admins = sub.add_parser("admins", help="administrator accounts (password and TOTP) on this host")
    asub = admins.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = asub.add_parser("add", help="create an account; prints its TOTP secret once")
    add.add_argument("name")
    add.add_argument("--scope", default=ALL_TENANTS,
                     help="the tenant it administers, or '*' for every tenant (default)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of stdin instead of asking twice")
    asub.add_parser("list", help="list accounts (never a secret)")
    disable = asub.add_parser("disable", help="disable an account; its sessions end at once")
    disable.add_argument("name")

    keys = sub.add_parser("keys", help="the master key and key backups (local, on the data directory)")
    ksub = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    ksub.add_parser("init", help="create the master key file (collector.keys.master_key_file)")
    rm = ksub.add_parser("rotate-master", help="new master key version; re-wrap every key; retire the old "
                         "(collector stopped; a dry run without --confirm)")
    rm.add_argument("--confirm", metavar="MASTER_ID", help="do it: repeat the current master key version")
    kb = ksub.add_parser("backup", help="write the wrapped tenant and signing keys to FILE "
                         "(not the master key)")
    kb.add_argument("file", type=Path)
    kr = ksub.add_parser("restore", help="put back key files from a key backup (collector stopped)")
    kr.add_argument("file", type=Path)

    verify = sub.add_parser("verify", help="verify the store offline (or a backup archive)")
    verify.add_argument("-c", "--config", type=Path, help="configuration file (default: embedded defaults)")
    verify.add_argument("--tenant", help="only this tenant (default: every tenant)")
    verify.add_argument("--checkpoint", type=Path, help="also check against this exported checkpoint")
    verify.add_argument("--backup", type=Path, help="verify this backup archive instead of the store")

    restore = sub.add_parser("restore", help="restore a tenant from a backup archive, verified "
                             "(collector stopped)")
    restore.add_argument("-c", "--config", type=Path, help="configuration file (default: embedded defaults)")
    restore.add_argument("archive", type=Path)
    restore.add_argument("--confirm", metavar="TENANT", help="do it: repeat the archive's tenant name "
                         "(without it, only verify the archive and show what would be restored)")
    for group in (ca, cred, admins, keys):  # `keys init --config F` as well as `keys --config F init`
        accept_anywhere(group, [CONFIG_OPTION])
    return p


def _keys(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.action == "init":
        path, master_id = offline.init_master(config)
        print(f"created master key {master_id} in {path} (mode 0600); back it up apart from the data",
              file=sys.stderr)
    elif args.action == "rotate-master":
        plan, done = offline.rotate_master_key(config, args.confirm)
        if done is None:
            print(f"rotate-master would add a master key version, re-wrap {plan.tenant_keys} tenant key "
                  f"versions, the signing key, {plan.administrators} administrators' and "
                  f"{plan.investigators} investigators' TOTP secrets under it, and retire "
                  f"{', '.join(plan.versions)}: key backups made before it become useless")
            print(f"# dry run: nothing was changed. To rotate, repeat with --confirm {plan.current}",
                  file=sys.stderr)
            return 0
        new, retired, count = done
        print(f"master key {new} now wraps {count} tenant key versions and the signing key; "
              f"retired {', '.join(retired) or 'none'} (key backups wrapped by them are now useless)",
              file=sys.stderr)
    elif args.action == "backup":
        count = offline.backup_keys(config, args.file)
        print(f"wrote {count} wrapped key files to {args.file}; the master key is not in it", file=sys.stderr)
    else:
        restored = offline.restore_keys(config, args.file)
        print(f"restored {len(restored)} key files: {', '.join(restored) or 'none were missing'}",
              file=sys.stderr)
    return 0


def _verify(args: argparse.Namespace) -> int:
    reports = offline.verify(load_config(args.config), args.tenant, args.checkpoint, args.backup)
    for report in reports:
        print(render_verify(report.to_dict()))
    if not reports:
        print("no tenants to verify")
    return 0 if all(r.clean for r in reports) else 1


def _restore(args: argparse.Namespace) -> int:
    plan = offline.restore(load_config(args.config), args.archive, args.confirm)
    result = plan.result
    print(render_verify(result.report.to_dict()))
    segments = len(result.manifest["segments"])
    if not result.report.clean:
        raise Failure(f"{args.archive}: tenant {result.tenant} was not restored: the archive does not "
                      "verify (see above)")
    if args.confirm is None:
        print(f"restore would put back tenant {result.tenant}: {segments} segments, chain length "
              f"{result.report.chain_length}")
        if plan.exists:
            print(f"  refused while tenant {result.tenant} exists in the store: erase it first, or restore "
                  "into another data directory")
        print(f"# dry run: nothing was changed. To restore, repeat with --confirm {result.tenant}",
              file=sys.stderr)
        return 0
    print(f"restored tenant {result.tenant}: {segments} segments", file=sys.stderr)
    return 0


def _credentials(args: argparse.Namespace) -> int:
    config = load_config(getattr(args, "config", None))
    store = CredentialStore(credentials_path(config))
    action = args.action
    audit = offline.local_audit(config)
    who = offline.local_principal()
    try:
        if action == "issue" and args.cert_dir is not None:
            ca = _ca(config)
            cid, issued = store.issue_certificate(args.tenant, args.role, args.name, ca)
            args.cert_dir.mkdir(parents=True, exist_ok=True)
            key, cert = issued.write(args.cert_dir, args.name)
            shutil.copyfile(ca.cert_file, args.cert_dir / "ca.crt")
            print(f"issued {cid}: {cert} and {key}", file=sys.stderr)
        elif action == "issue":
            token_file: Path | None = args.token_file
            if token_file is not None and token_file.exists():
                raise Failure(f"{token_file} already exists; not overwriting a token")
            cid, token = store.issue(args.tenant, args.role, args.name)
            if token_file is None:
                print(token)
            else:
                fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(token + "\n")
            print(f"issued {cid}", file=sys.stderr)
        elif action == "list":
            for entry in store.entries():
                state = f"revoked {entry['revoked']}" if entry["revoked"] else "live"
                print(f"{entry['id']}\t{entry['tenant']}\t{entry['role']}\t{entry['name']}\t{state}")
            return 0
        else:
            return _revoke(args, store)
    except CredentialError as e:
        raise Failure(str(e)) from None
    if audit is not None:
        kind = "certificate" if args.cert_dir is not None else "token"
        audit.append(who, "credentials.issue", args.tenant if args.tenant != ALL_TENANTS else None, "done",
                     {"id": cid, "role": args.role, "name": args.name, "kind": kind})
    return 0


def _revoke(args: argparse.Namespace, store: CredentialStore) -> int:
    """A guarded operation: a dry run unless --confirm repeats the id; audited either way."""
    config = load_config(args.config)
    live = {e["id"]: e for e in store.entries() if e["revoked"] is None}
    entry = live.get(args.id)
    if entry is None:
        raise Failure(f"no live credential with id {args.id!r}")
    tenant = entry["tenant"] if entry["tenant"] != ALL_TENANTS else None
    audit = offline.local_audit(config)

    def record(outcome: str) -> None:
        if audit is not None:
            audit.append(offline.local_principal(), "credentials.revoke", tenant, outcome, {"id": args.id})

    if args.confirm is None:
        record("dry_run")
        print(f"would revoke {entry['id']}: {entry['role']} {entry['name']} of tenant {entry['tenant']} "
              f"({entry.get('kind') or 'token'}); its holder is refused from then on")
        print(f"# dry run: nothing was changed. To revoke, repeat with --confirm {args.id}", file=sys.stderr)
        return 0
    if args.confirm != args.id:
        record("refused")
        raise UsageError(f"--confirm must repeat the credential id {args.id!r}")
    store.revoke(args.id)
    record("done")
    print(f"revoked {args.id}", file=sys.stderr)
    return 0


def _admins(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        master = FileMasterKeys.load(master_key_path(config.keys))
    except KeyringError as e:
        raise Failure(f"{e} (the TOTP secrets are wrapped by the master key)") from None
    accounts = AdminAccounts(admins_path(config), master)
    who = offline.local_principal()
    audit = offline.local_audit(config)
    try:
        if args.action == "add":
            password = new_password(args.password_stdin, "administrator")
            enrolment = accounts.add(args.name, args.scope, password)
            print(enrolment.uri)
            print(f"secret (base32): {enrolment.base32}")
            print(f"administrator {args.name} (scope {args.scope}) created. Add the secret to an "
                  "authenticator app now (TOTP, SHA-256, 6 digits, 30 s): it is not shown again.",
                  file=sys.stderr)
            details = {"scope": args.scope}
        elif args.action == "list":
            for a in accounts.accounts():
                state = f"disabled {a.disabled}" if a.disabled else "enabled"
                print(f"{a.name}\t{a.scope}\tcreated {a.created}\t{state}\tfailures {a.state.failures}")
            return 0
        else:
            accounts.disable(args.name)
            print(f"disabled {args.name}; its sessions end at its next request", file=sys.stderr)
            details = {}
    except AccountError as e:
        raise UsageError(str(e)) from None
    if audit is not None:
        audit.append(who, f"admins.{args.action}", None, "done", {"account": args.name, **details})
    return 0


def _ca(config: CollectorConfig) -> CertificateAuthority:
    ca = CertificateAuthority(config.data_dir / "ca")
    if not ca.exists():
        raise Failure(f"no CA in {ca.directory}; create it with '{PROG} ca init'")
    return ca


def _ca_command(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.action == "init":
        ca = CertificateAuthority(config.data_dir / "ca")
        try:
            ca.init()
        except FileExistsError as e:
            raise Failure(str(e)) from None
        print(f"created {ca.cert_file} (give it to agents as ca_file) and {ca.key_file}", file=sys.stderr)
        return 0
    try:
        issued = _ca(config).issue_server(args.name)
    except ValueError as e:
        raise Failure(str(e)) from None
    args.out.mkdir(parents=True, exist_ok=True)
    key, cert = issued.write(args.out, "collector")
    print(f"wrote {cert} and {key}; set [collector.tls] cert_file and key_file", file=sys.stderr)
    return 0


def _hand_back(config_file: Path | None) -> None:
    """What root just made in the data directory stays usable by the service (chronolog.fsutil)."""
    try:
        config = load_config(config_file)
    except ConfigError:
        return  # already reported by the command
    hand_back(config.data_dir)


def main(argv: list[str] | None = None) -> int:
    def body() -> int:
        args = build_parser().parse_args(argv)
        if args.command == "check-config":
            load_config(args.file)
            print(f"{args.file}: ok")
            return 0
        local = {"credentials": _credentials, "admins": _admins, "ca": _ca_command, "keys": _keys,
                 "verify": _verify, "restore": _restore}
        if args.command in local:
            try:
                return local[args.command](args)
            finally:
                _hand_back(args.config)
        config = load_config(args.config)
        if config.tls.enabled and argv is None:  # only as a real entry point: it replaces the process
            reexec_under_policy(config.tls.openssl_conf or profile_path(config.tls.level))
        setup_logging(config.log_level)
        asyncio.run(serve(config, args.ready_file))
        return 0

    return run_command(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
