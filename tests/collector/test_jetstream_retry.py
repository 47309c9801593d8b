"""Which answers of the cluster are retried (until the deadline) and which are final."""

from __future__ import annotations

import nats.errors
import nats.js.errors
import pytest

from collector.store import StoreUnavailable
from collector.store.jetstream.retry import retrying, transient


def test_a_placement_refused_while_a_server_joins_is_retried_other_bad_requests_are_final() -> None:
    joining = nats.js.errors.BadRequestError(code=400, err_code=10005,
                                             description="no suitable peers for placement, peer offline")
    assert transient(joining)
    assert not transient(nats.js.errors.BadRequestError(code=400, err_code=10058,
                                                        description="stream name already in use"))
    assert not transient(nats.js.errors.NotFoundError(code=404, err_code=10059))
    assert transient(nats.errors.TimeoutError())


async def test_retrying_goes_on_through_a_placement_refusal_and_stops_at_the_deadline() -> None:
    calls = []

    async def placed_at_the_third() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise nats.js.errors.BadRequestError(code=400, err_code=10005, description="peer offline")
        return "placed"

    assert await retrying(placed_at_the_third, "creating a bucket", 30) == "placed"
    assert len(calls) == 3

    async def never() -> str:
        raise nats.js.errors.BadRequestError(code=400, err_code=10005, description="peer offline")

    with pytest.raises(StoreUnavailable, match="creating a bucket"):
        await retrying(never, "creating a bucket", 0.3)


def test_errors_without_an_error_code_are_classified_by_kind() -> None:
    assert not transient(nats.js.errors.KeyNotFoundError())  # raised bare by the client: no err_code
    assert not transient(ValueError("not the cluster's"))
