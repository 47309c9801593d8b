"""Evidence a third party can check without the collector: the hash chain's links
(`chain`), Merkle trees and multiproofs (`merkle`), how a segment's records root is made
(`tree`), Ed25519 signatures over signed records (`signatures`), and evidence bundles: their
layout (`bundle`), their offline check (`verify`, naming each `findings.Finding`) and what they
show of each host's clock (`clocks`). docs/evidence.md.
"""
