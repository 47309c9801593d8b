"""``chronolog-collector``: run the collector, check its configuration, manage credentials;
and, on the data directory itself, the master key, offline verify and restore."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from pathlib import Path

from chronolog.cli.reports import render_verify
from chronolog.cliutil import ArgumentParser, Failure, run_command
from chronolog.logs import setup_logging
from chronolog.tls import profile_path, reexec_under_policy
from collector import offline
from collector.app import credentials_path, serve
from collector.auth.ca import CertificateAuthority
from collector.auth.credentials import ROLES, CredentialError, CredentialStore
from collector.config import CollectorConfig, load_config

PROG = "chronolog-collector"


def _parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="The chronolog collector.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the collector until SIGTERM or Ctrl-C")
    run.add_argument("-c", "--config", type=Path, help="configuration file (default: embedded defaults)")
    run.add_argument("--ready-file", type=Path, help="write where it listens here, as JSON, once ready")

    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("file", type=Path)

    ca = sub.add_parser("ca", help="the small private CA for the collector's and agents' certificates")
    ca.add_argument("-c", "--config", type=Path, help="configuration file (default: embedded defaults)")
    casub = ca.add_subparsers(dest="action", required=True, metavar="ACTION")
    casub.add_parser("init", help="create the CA (ECDSA P-256) in DATA_DIR/ca")
    server = casub.add_parser("server-cert", help="issue the collector's TLS certificate")
    server.add_argument("--name", action="append", required=True,
                        help="DNS name or IP address agents connect to (repeatable)")
    server.add_argument("--out", type=Path, required=True,
                        help="directory for collector.crt and collector.key (0600)")

    cred = sub.add_parser("credentials", help="issue, list and revoke agent and investigator credentials")
    cred.add_argument("-c", "--config", type=Path, help="configuration file (default: embedded defaults)")
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
    revoke = csub.add_parser("revoke", help="revoke a credential by id")
    revoke.add_argument("id")

    keys = sub.add_parser("keys", help="the master key and key backups (local, on the data directory)")
    keys.add_argument("-c", "--config", type=Path, help="configuration file (default: embedded defaults)")
    ksub = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    ksub.add_parser("init", help="create the master key file (collector.keys.master_key_file)")
    ksub.add_parser("rotate-master", help="new master key version; re-wrap every key; retire the old "
                    "(collector stopped)")
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
    return p


def _keys(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.action == "init":
        path, master_id = offline.init_master(config)
        print(f"created master key {master_id} in {path} (mode 0600); back it up apart from the data",
              file=sys.stderr)
    elif args.action == "rotate-master":
        new, retired, count = offline.rotate_master_key(config)
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
    result = offline.restore(load_config(args.config), args.archive)
    print(render_verify(result.report.to_dict()))
    if not result.restored:
        raise Failure(f"{args.archive}: tenant {result.tenant} was not restored: the archive does not "
                      "verify (see above)")
    print(f"restored tenant {result.tenant}: {len(result.manifest['segments'])} segments", file=sys.stderr)
    return 0


def _credentials(args: argparse.Namespace) -> int:
    config = load_config(getattr(args, "config", None))
    store = CredentialStore(credentials_path(config))
    action = args.action
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
        else:
            store.revoke(args.id)
            print(f"revoked {args.id}", file=sys.stderr)
    except CredentialError as e:
        raise Failure(str(e)) from None
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


def main(argv: list[str] | None = None) -> int:
    def body() -> int:
        args = _parser().parse_args(argv)
        if args.command == "check-config":
            load_config(args.file)
            print(f"{args.file}: ok")
            return 0
        if args.command == "credentials":
            return _credentials(args)
        if args.command == "ca":
            return _ca_command(args)
        if args.command in ("keys", "verify", "restore"):
            return {"keys": _keys, "verify": _verify, "restore": _restore}[args.command](args)
        config = load_config(args.config)
        if config.tls.enabled and argv is None:  # only as a real entry point: it replaces the process
            reexec_under_policy(config.tls.openssl_conf or profile_path(config.tls.level))
        setup_logging(config.log_level)
        asyncio.run(serve(config, args.ready_file))
        return 0

    return run_command(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
