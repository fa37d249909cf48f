"""Residents' personal data (个人信息): masking, pseudonymous references and crypto-shredding.

Small modules, one job each: `masking` (what a public view shows), `derivation` (every key
from one master secret), `pseudonym` (a resident's stable public reference), `envelope`
(per-field AEAD and its text token), `wrapping` (data keys under the master key),
`keyring` (the port that keeps data keys and destroys them on erasure) and `fields`
(sealing and opening fields through a key ring, with a bounded key cache).
"""
