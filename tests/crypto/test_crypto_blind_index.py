"""Blind indexes: the truncation formula, separation between keys and columns, and spread."""

from __future__ import annotations

import collections
import os
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carecall.crypto.blind_index import blind_index, derive_index_key, index_bits


@pytest.mark.parametrize(("population", "bits"), [
    (0, 8), (1, 8), (100, 8), (1_000, 8), (1_024, 8), (1_025, 9), (10_000, 12),
    (100_000, 15), (1_000_000, 18), (2**70, 63),
])
def test_index_bits_formula(population: int, bits: int) -> None:
    assert index_bits(population) == bits


@pytest.mark.parametrize("population", [2_000, 100_000, 5_000_000])
def test_about_four_rows_per_value_at_the_population(population: int) -> None:
    assert 2 <= population / 2 ** index_bits(population) <= 4


def test_values_fit_the_bits_and_are_deterministic() -> None:
    key = os.urandom(32)
    for bits in (1, 8, 15, 63):
        value = blind_index(key, "+15555550100", bits)
        assert 0 <= value < 2**bits
        assert value == blind_index(key, b"+15555550100", bits)
    with pytest.raises(ValueError, match="between 1 and 63"):
        blind_index(key, "x", 64)


def test_index_keys_differ_by_column_tenant_and_tenant_key() -> None:
    tenant_key = os.urandom(32)
    tenant = uuid.uuid4()
    phone = derive_index_key(tenant_key, tenant, "phone")
    assert phone == derive_index_key(tenant_key, tenant, "phone")
    assert phone != derive_index_key(tenant_key, tenant, "dob")
    assert phone != derive_index_key(tenant_key, uuid.uuid4(), "phone")
    assert phone != derive_index_key(os.urandom(32), tenant, "phone")


def test_spread_matches_the_formula() -> None:
    key = os.urandom(32)
    population = 4_096
    bits = index_bits(population)  # 10 bits: 1,024 buckets, 4 per bucket on average
    counts = collections.Counter(blind_index(key, f"+1555{n:07d}", bits)
                                 for n in range(population))
    assert len(counts) > 900  # nearly every bucket used
    assert max(counts.values()) <= 16  # no bucket singles out a large crowd


@given(value=st.text(max_size=40), bits=st.integers(min_value=1, max_value=63))
def test_range_property(value: str, bits: int) -> None:
    assert 0 <= blind_index(b"k" * 32, value, bits) < 2**bits
