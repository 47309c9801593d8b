"""Evidence a third party can check without the collector: the hash chain's links
(`chain`), Merkle trees and multiproofs (`merkle`), how a segment's records root is made
(`tree`), and Ed25519 signatures over signed records (`signatures`). docs/evidence.md.
"""
