"""Learning the timestamp layout of a source that no format family claims: `propose` reads
candidate layouts off one line, `Learner` keeps per source the ones its lines agree with."""

from chronolog.timestamps.learn.learner import LEARNED_FORMAT, Learner, Rejected
from chronolog.timestamps.learn.propose import Proposal, propose

__all__ = ["LEARNED_FORMAT", "Learner", "Proposal", "Rejected", "propose"]
