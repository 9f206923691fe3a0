"""Cheating provers for the attack tests: proofs that pass every check but the one under test."""
