"""Personal data (dataflow/filters/pii.py): one row per kind found, one per look-alike left alone."""

from __future__ import annotations

import pytest

from dataflow.errors import ConfigError
from dataflow.config import validate_config
from dataflow.filters.config import FilterConfig
from dataflow.filters.pii import PiiConfig, find_and_mask

DEFAULT = PiiConfig()


@pytest.mark.parametrize(("text", "masked", "kind"), [
    ("Write to jane.doe+news@mail.example.co.uk today.", "Write to <EMAIL> today.", "email"),
    ("Call +44 20 7946 0958 now.", "Call <PHONE> now.", "phone"),
    ("Call +1 (555) 123-4567 now.", "Call <PHONE> now.", "phone"),
    ("Call (555) 123-4567 now.", "Call <PHONE> now.", "phone"),
    ("Tel. 030 12345678 oder (030) 1234567.", "Tel. <PHONE> oder <PHONE>.", "phone"),
    ("Appelez le 01 23 45 67 89.", "Appelez le <PHONE>.", "phone"),
    ("お問い合わせは03-1234-5678まで", "お問い合わせは<PHONE>まで", "phone"),
    ("联系电话 138 0013 8000。", "联系电话 <PHONE>。", "phone"),
    ("Server 192.168.10.20 is down.", "Server <IPV4> is down.", "ipv4"),
    ("Server 2001:db8::8a2e:370:7334 is down.", "Server <IPV6> is down.", "ipv6"),
    ("Card 4111 1111 1111 1111 expires.", "Card <CREDIT_CARD> expires.", "credit_card"),
    ("Card 5500-0000-0000-0004 expires.", "Card <CREDIT_CARD> expires.", "credit_card"),
    ("IBAN DE89 3704 0044 0532 0130 00 please.", "IBAN <IBAN> please.", "iban"),
    ("IBAN GB29NWBK60161331926819 please.", "IBAN <IBAN> please.", "iban"),
], ids=["email", "phone_e164", "phone_e164_parens", "phone_us", "phone_de", "phone_fr", "phone_ja", "phone_zh_mobile",
        "ipv4", "ipv6", "card_visa", "card_mastercard", "iban_spaced", "iban_compact"])
def test_each_kind_is_masked_and_counted(text, masked, kind):
    assert find_and_mask(text, DEFAULT) == (masked, {kind: masked.count("<")})


@pytest.mark.parametrize("text", [
    "Python version 3.11.7.1 and firmware v10.0.0.1 shipped.",
    "Released 2020-05-12 at 12:30:45; held on 12.5.2020.",
    "Population 1,234,567 in 2021, GDP 4.5 trillion.",
    "Card 4111 1111 1111 1112 fails the Luhn check.",
    "IBAN DE88 3704 0044 0532 0130 00 fails the checksum.",
    "ISBN 978-3-16-148410-0 and order no. 12345678.",
    "Octets over 255: 300.1.2.3.",
    "Scores were 10:4:2 and 3:1.",
])
def test_look_alikes_are_left_alone(text):
    assert find_and_mask(text, DEFAULT) == (text, {})


def test_allowed_public_addresses_are_kept():
    config = PiiConfig(allowed_emails=["^(info|press)@"])
    assert find_and_mask("press@example.org or jane@example.org", config) == ("press@example.org or <EMAIL>",
                                                                             {"email": 1})


def test_only_configured_kinds_are_masked():
    assert find_and_mask("jane@example.org, 192.168.1.1", PiiConfig(kinds=["ipv4"])) == ("jane@example.org, <IPV4>",
                                                                                     {"ipv4": 1})


def test_bad_allow_pattern_is_a_one_line_config_error():
    with pytest.raises(ConfigError,
                       match=r"^invalid config in filter: pii.allowed_emails: allowed_emails pattern '\(info' is not a "
                       r"regular"):
        validate_config(FilterConfig, {"pii": {"allowed_emails": ["(info"]}}, "filter")
