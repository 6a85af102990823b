"""The PaySim1 CSV format, exactly as in Kaggle's `PS_20174392719_1491204439457_log.csv`.

One place for the header, the column kinds and the value rules, shared by the generator
(which writes it) and the split stage (which parses and checks it).
"""

from __future__ import annotations

import re

#: The header, byte for byte (note `oldbalanceOrg` next to `newbalanceOrig`).
COLUMNS: tuple[str, ...] = (
    "step",
    "type",
    "amount",
    "nameOrig",
    "oldbalanceOrg",
    "newbalanceOrig",
    "nameDest",
    "oldbalanceDest",
    "newbalanceDest",
    "isFraud",
    "isFlaggedFraud",
)
HEADER = ",".join(COLUMNS)

#: Transaction types, in the order of their share of the real file.
TYPES: tuple[str, ...] = ("CASH_OUT", "PAYMENT", "CASH_IN", "TRANSFER", "DEBIT")
#: Only these types ever carry fraud.
FRAUD_TYPES: tuple[str, ...] = ("TRANSFER", "CASH_OUT")

MONEY_COLUMNS: tuple[str, ...] = (
    "amount",
    "oldbalanceOrg",
    "newbalanceOrig",
    "oldbalanceDest",
    "newbalanceDest",
)
FLAG_COLUMNS: tuple[str, ...] = ("isFraud", "isFlaggedFraud")
MAX_STEP = 743

#: Money as the simulator prints it: plain decimals or Java notation (`1.0E7`).
MONEY_PATTERN = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
#: Customers are `C<digits>`; merchants (destination of every PAYMENT) `M<digits>`.
CUSTOMER_PATTERN = re.compile(r"C[0-9]+")
DEST_PATTERN = re.compile(r"[CM][0-9]+")
STEP_PATTERN = re.compile(r"[0-9]+")
FLAG_PATTERN = re.compile(r"[01]")
