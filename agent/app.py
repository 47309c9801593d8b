"""The agent process: wire the pipeline (inputs, stamping, clock, delivery), run it, and stop
it cleanly.

Start-up goes along the data path backwards (checkpoints, delivery, clock, inputs) so that
each stage has somewhere to hand its output; shutdown stops the inputs first, ships what is
still queued, saves the checkpoint, then closes the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from agent.clock.monitor import ClockMonitor
from agent.clock.records import ClockRecorder
from agent.config import AgentConfig
from agent.config_record import queue_start_record
from agent.delivery.checkpoint import Checkpoints
from agent.delivery.queue import BatchQueue
from agent.delivery.sender import HttpSender
from agent.delivery.shipper import Identity, Shipper
from agent.delivery.spool import Spool
from agent.endpoints import serve_endpoints
from agent.inputs.files import FileInput
from agent.inputs.journald import JournaldInput, journald_available
from agent.inputs.syslog import SyslogInput
from agent.status import AgentStatus, build_status, status_document
from agent.telemetry import Telemetry
from chronolog.cliutil import Failure
from chronolog.daemon import announce_ready, announce_stopping, stop_event, watched
from chronolog.fsutil import atomic_write
from chronolog.tls import certificate_expiry, client_context
from chronolog.tool import VERSION

__all__ = ["agent_id", "serve"]

log = logging.getLogger("agent")

DRAIN_SECONDS = 10.0  # at shutdown, how long to keep trying to ship what is queued


def agent_id(config: AgentConfig) -> str:
    """The configured id, else the one generated on first start and kept in state_dir."""
    if config.id:
        return config.id
    path = config.state_dir / "agent-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    config.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    new = secrets.token_hex(16)
    atomic_write(path, (new + "\n").encode(), mode=0o644)
    return new


def _sender(config: AgentConfig) -> HttpSender:
    link = config.collector
    context = None
    if link.tls:
        try:
            context = client_context(link.tls_level, link.ca_file, link.cert_file, link.key_file)
        except (OSError, ssl.SSLError) as e:
            raise Failure(f"cannot set up TLS to the collector: {e}") from None
    token_file = None if link.cert_file is not None else link.token_file
    try:
        return HttpSender(link.url, token_file, link.timeout, link.compression, context,
                          connections=config.batch.in_flight)
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise Failure(f"cannot read the collector token {link.token_file}: {reason}. Issue one on the "
                      "collector host with `chronolog-collector credentials issue --tenant TENANT --role "
                      "agent --name HOST --token-file FILE` and install it here as "
                      f"{link.token_file} (mode 0600; docs/install.md)") from None


def _spool(config: AgentConfig, telemetry: Telemetry) -> Spool | None:
    if config.spool.max_bytes == 0:
        return None
    directory = config.spool_dir()
    try:
        spool, bad = Spool(directory, config.spool.max_bytes, config.spool.when_full).open()
    except OSError as e:
        raise Failure(f"cannot use the spool directory {directory}: {e.strerror or e}") from None
    for problem in bad:
        telemetry.spool_unreadable(*problem.split(": ", 1))
    telemetry.watch_spool(spool.report)
    return spool


async def serve(config: AgentConfig, ready_file: Path | None = None) -> None:
    """Run until SIGTERM or SIGINT."""
    stop = stop_event()
    telemetry = Telemetry()
    identity = Identity(agent_id(config), config.host_name(), config.zone)
    telemetry.identify(identity.agent, identity.host, VERSION)
    try:
        checkpoints = Checkpoints(config.state_dir / "checkpoints.json", telemetry.ledger).load()
    except ValueError as e:
        raise Failure(str(e)) from None
    queue = BatchQueue(config.batch.max_bytes, config.batch.max_delay, config.batch.queue_bytes)
    clock = ClockMonitor(config.clock, telemetry)
    # Heartbeats are clock records too: the recorder runs when either is wanted.
    wanted = config.clock.record or config.clock.heartbeat > 0
    recorder = ClockRecorder(queue, checkpoints, clock.view, telemetry) if wanted else None
    if recorder is not None:
        clock.record = recorder.add
    spool = _spool(config, telemetry)
    if config.collector.cert_file is not None:
        telemetry.client_certificate(certificate_expiry(config.collector.cert_file))
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(watched())
        sender = await stack.enter_async_context(_sender(config))
        shipper = Shipper(identity, queue, sender, checkpoints, telemetry,
                          config.collector.retry_initial, config.collector.retry_max, spool,
                          in_flight=config.batch.in_flight)
        telemetry.watch_delivery(lambda: queue.queued_bytes, shipper.oldest_unacked)
        info: dict[str, Any] = {"agent": identity.agent}
        if config.metrics.enabled:
            def snapshot(now: float) -> AgentStatus:
                return build_status(identity.agent, identity.host, queue.queued_bytes,
                                    telemetry.ledger.report(),
                                    spool.report() if spool is not None else None, now)

            def metrics() -> tuple[bytes, str]:
                return generate_latest(telemetry.registry), CONTENT_TYPE_LATEST

            server, url = await serve_endpoints(config.metrics.listen,
                                                {"/metrics": metrics, "/status": status_document(snapshot)})
            stack.callback(server.close)
            info["metrics"] = url + "/metrics"
            info["status"] = url + "/status"

        claimed: set[str] = set()
        inputs: list[Coroutine[Any, Any, None]] = [
            FileInput(source, queue, checkpoints, clock.view, telemetry, claimed).run()
            for source in config.files
        ]
        if journald_available(config.journald):
            inputs.append(JournaldInput(config.journald, queue, checkpoints, clock.view, telemetry).run())
        if recorder is not None:
            inputs.append(recorder.run())  # the generated clock stream stops with the inputs
        if config.syslog.enabled:
            syslog = SyslogInput(config.syslog, queue, checkpoints, clock.view, telemetry)
            try:
                info.update(await syslog.start())
            except OSError as e:
                syslog.close()
                raise Failure(f"cannot listen for syslog: {e.strerror or e}") from None
            inputs.append(syslog.run())
        if config.record_config:
            await queue_start_record(config, queue, checkpoints, clock.view())
        input_tasks = [asyncio.create_task(c) for c in inputs]
        clock_task = asyncio.create_task(clock.run())
        ship_task = asyncio.create_task(shipper.run())
        log.info("agent ready", extra={**info, "host": identity.host, "inputs": len(input_tasks)})
        announce_ready(ready_file, info)

        await _until_stop_or_failure(stop, [*input_tasks, clock_task, ship_task])
        log.info("agent stopping")
        announce_stopping()
        await _cancel(input_tasks)
        await _cancel([ship_task])  # drain() ships the batch it was working on first
        try:
            await asyncio.wait_for(shipper.drain(), DRAIN_SECONDS)
        except TimeoutError:
            log.warning("collector unreachable at shutdown; unsent lines are read again on restart")
        await _cancel([clock_task])
        await asyncio.to_thread(checkpoints.save)


async def _until_stop_or_failure(stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    """Wait for the stop signal; a task that dies meanwhile is a bug and stops the agent."""
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    for task in done:
        if task is not stopper and task.exception() is not None:
            log.error("pipeline task failed", exc_info=task.exception())


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
