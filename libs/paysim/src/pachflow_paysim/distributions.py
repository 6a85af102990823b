"""The statistical model of the generator: every number that shapes PaySim-like data.

Targets come from the real PaySim1 file (shared/facts/paysim.md); the per-type amount
medians/means are the ones public notebooks report for it. Money is handled in integer
cents everywhere (exact balance arithmetic, exact 2-decimal printing).
"""

from __future__ import annotations

import numpy as np

from pachflow_paysim.format import MAX_STEP, TYPES

#: Row counts of the real file per type, and its fraud rows per type.
REAL_ROWS = 6_362_620
REAL_TYPE_ROWS: dict[str, int] = {
    "CASH_OUT": 2_237_500,
    "PAYMENT": 2_151_495,
    "CASH_IN": 1_399_284,
    "TRANSFER": 532_909,
    "DEBIT": 41_432,
}
REAL_FRAUD_ROWS: dict[str, int] = {"CASH_OUT": 4_116, "TRANSFER": 4_097}

# Type codes (indexes into format.TYPES); the per-type arrays below follow this order.
CASH_OUT = TYPES.index("CASH_OUT")
PAYMENT = TYPES.index("PAYMENT")
CASH_IN = TYPES.index("CASH_IN")
TRANSFER = TYPES.index("TRANSFER")
DEBIT = TYPES.index("DEBIT")
assert (CASH_OUT, PAYMENT, CASH_IN, TRANSFER, DEBIT) == (0, 1, 2, 3, 4)

#: Fraud comes in (TRANSFER, CASH_OUT) pairs: pairs per row of output.
FRAUD_PAIRS_PER_ROW = sum(REAL_FRAUD_ROWS.values()) / 2 / REAL_ROWS

#: Probability of each type among genuine rows (fraud rows are placed separately).
_genuine = np.array(
    [REAL_TYPE_ROWS[t] - REAL_FRAUD_ROWS.get(t, 0) for t in TYPES], dtype=np.float64
)
GENUINE_TYPE_CDF = np.cumsum(_genuine / _genuine.sum())

CENTS = 100
#: PaySim moves fraud in transfers of at most 10,000,000.
FRAUD_CHUNK_CENTS = 10_000_000 * CENTS

# Genuine amounts: log-normal per type with the real per-type means (sigma =
# sqrt(2 ln(mean/median))), clipped at the real per-type maximum; medians set so the
# overall median lands on the real 74,872 (about half the rows are below 75k).
#                  CASH_OUT   PAYMENT  CASH_IN   TRANSFER     DEBIT
AMOUNT_MEDIAN = np.array([125_000.0, 9_500.0, 125_000.0, 486_000.0, 3_050.0])
AMOUNT_SIGMA = np.array([0.83, 0.80, 0.78, 1.12, 1.10])
AMOUNT_MAX = np.array([10_000_000.0, 238_637.98, 1_915_267.90, 92_445_516.64, 569_077.51])
AMOUNT_LOG_MEDIAN = np.log(AMOUNT_MEDIAN)

# Origin balance: 0 with a per-type probability, else amount * lognormal ratio. The real
# file shows oldbalanceOrg == newbalanceOrig == 0 on 47.4 % of genuine TRANSFER/CASH_OUT rows
# (Arjun Joshua's kernel) and on 33.0 % of all rows, so the other types are 0 less often.
# For outflows the ratio is below 1 in ~59 % of cases, which (with the zeros) gives the real
# file's 56.7 % newbalanceOrig == 0 overall (CASH_IN never empties).
#                          CASH_OUT PAYMENT CASH_IN TRANSFER DEBIT
P_ZERO_OLD_ORG = np.array([0.474, 0.22, 0.22, 0.474, 0.22])
RATIO_LOG_MU = np.array([-0.30, -0.46, 1.0, -0.30, -0.46])
RATIO_SIGMA = np.array([2.0, 2.0, 1.5, 2.0, 2.0])

#: Largest balances in the real file (origin, destination).
ORIG_BALANCE_MAX = 59_585_040.37
BALANCE_MAX = 356_015_889.35

# Destination balances of customer (C) destinations: 0 with this probability, else
# log-normal. CASH_IN destinations pay out cash (balance goes down), the others receive.
#                       CASH_OUT PAYMENT CASH_IN TRANSFER DEBIT
P_ZERO_OLD_DEST = np.array([0.172, 1.0, 0.05, 0.172, 0.172])
DEST_LOG_MEDIAN = np.log(700_000.0)
DEST_SIGMA = 1.5
#: Share of genuine receiving rows whose destination stays 0 -> 0 (real: 0.06 %).
P_GENUINE_DEST_ZERO_ZERO = 0.0006
#: Destination "new" balances are logged late in the simulator: this share of receiving
#: rows shows extra money on top of old + amount.
P_DEST_NOISE = 0.3
DEST_NOISE_LOG_MEDIAN = np.log(100_000.0)
DEST_NOISE_SIGMA = 1.5

# Fraud: a victim's balance (log-normal, capped) is emptied in chunks of <= 10M.
FRAUD_LOG_MEDIAN = np.log(480_000.0)
FRAUD_SIGMA = 1.6
FRAUD_BALANCE_MAX = 60_000_000.0
#: A few fraud rows show an origin balance of 0 -> 0 (real: 0.30 % of fraud rows, against
#: 47 % of genuine TRANSFER/CASH_OUT): these frauds do not look like a drained account.
P_FRAUD_ZERO_ORIGIN = 0.003
#: Mule accounts mostly show 0 -> 0 on the fraudulent TRANSFER; cash-out destinations rarely.
P_FRAUD_TRANSFER_DEST_ZERO = 0.97
P_FRAUD_CASHOUT_DEST_ZERO = 0.02
#: isFlaggedFraud: a blocked large fraudulent TRANSFER (origin balance left unchanged,
#: destination 0 -> 0); ~16 rows per 6.36M.
FLAG_MIN_CENTS = 200_000 * CENTS
P_FLAG_LARGE_TRANSFER = 0.0045

#: Distinct C destinations are far fewer than rows (2.72M distinct nameDest of which
#: ~2.15M merchants): genuine C destinations come from a pool of this size per row.
DEST_POOL_PER_ROW = 0.09

# Steps (hours): busy days, quiet nights; after step 403 the real file thins out to a
# trickle (mostly fraud, which is spread evenly over all 743 steps).
# fmt: off
_HOUR_WEIGHT = np.array([
    0.25, 0.10, 0.05, 0.03, 0.03, 0.04, 0.10, 0.30, 0.65, 1.00, 1.05, 1.10,
    1.10, 1.10, 1.05, 1.00, 1.00, 1.00, 1.00, 0.95, 0.80, 0.60, 0.45, 0.35,
])
# fmt: on
BUSY_STEPS = 403
QUIET_FACTOR = 0.015


def step_weights() -> np.ndarray:
    """Relative volume of genuine rows per step 1..MAX_STEP (sums to 1)."""
    steps = np.arange(1, MAX_STEP + 1)
    w = _HOUR_WEIGHT[steps % 24] * np.where(steps <= BUSY_STEPS, 1.0, QUIET_FACTOR)
    return np.asarray(w / w.sum())


#: Customer ids are `C<digits>` / `M<digits>` below 2**31, as in the real file.
ID_SPACE = 2**31
_ID_MULTIPLIER = 2_654_435_761  # odd: j -> (j * m + salt) mod 2**31 is a bijection


def pool_ids(index: np.ndarray, salt: int) -> np.ndarray:
    """Distinct, random-looking ids for pool members 0..K-1 (no pool kept in memory)."""
    return (index.astype(np.int64) * _ID_MULTIPLIER + salt) % ID_SPACE
