"""What event hazards respond to, and how each event type responds by default.

The documents describe events that follow the state of the world: crises
bring consultations and calls, shared threats bring exercises, isolation
brings agreements and energy deals, weak trade brings political pushes, a
blocked multilateral agenda sends states to bilateral deals, hostility is
answered with friction. Each signal below is computed every month from the
agents' current (or last month's) state; each event type's hazard is
``rate * exp(trust_sensitivity * (pair trust - reference) + sum of coefficient * signal)``.
A scenario may override a type's coefficients under ``events.<type>.responds``.
"""

from __future__ import annotations

RESPONSES: dict[str, str] = {
    "crisis": "recent rise of the pair's shared threat or of either side's isolation (a decaying memory, at most 1)",
    "isolation": "the initiator's isolation (sanctions and distrust of its main partners); for a pair, the larger",
    "lean": "how far the initiator leans toward the other, minus one half (for a pair, the mean of both directions)",
    "trade_gap": "how far the pair's trade has fallen below its own recent average (log points)",
    "recession": "the initiator's economic contraction (for a pair, the deeper one), as a yearly rate",
    "blocked": "rivalry inside a common economic organisation that blocks its agenda (last month's)",
    "parity": "the weaker side's arms capability as a share of the stronger's (last month's)",
    "hostility": "recent hostile acts by the other side, rivalry and sanctions against the initiator (at most 1)",
    "exposure": "the initiator's trade with states that sanction the other side",
}
RESPONSE_NAMES = tuple(RESPONSES)

# Event types whose two directions differ (who supports, greets or criticises whom); each gets one
# channel per direction at half the pair's rate, driven by the initiator's state.
DIRECTED = frozenset({"statement_of_support", "greeting", "friction", "visit"})

# Default responses by type: (coefficient, citation). Sizes are judgements; the cited line gives the
# direction (see ../shared/MECHANISMS.md for the mechanism each cites).
DEFAULT_RESPONSES: dict[str, dict[str, tuple[float, str]]] = {
    "consultation": {"crisis": (1.5, "003_3886cf81219507be.txt:27")},
    "phone_call": {"crisis": (1.5, "003_3886cf81219507be.txt:27")},
    "leader_meeting": {"crisis": (1.0, "002_38276b7c24a0592b.txt:17"), "lean": (1.0, "000_75864654e862cb18.txt:33")},
    "military_exercise": {"crisis": (1.5, "002_38276b7c24a0592b.txt:116-118"),
                          "lean": (1.5, "004_428dc53703d8f109.txt:85-91")},
    "military_cooperation": {"parity": (1.0, "001_e7aa02c26cd915e1.txt:72-74"),
                             "isolation": (1.0, "004_428dc53703d8f109.txt:97-104"),
                             "crisis": (1.0, "002_38276b7c24a0592b.txt:116-118")},
    "statement_of_support": {"crisis": (1.5, "001_e7aa02c26cd915e1.txt:34-42"),
                             "exposure": (-3.0, "004_428dc53703d8f109.txt:53-61"),
                             "lean": (1.0, "004_428dc53703d8f109.txt:37-45")},
    "agreement_signed": {"isolation": (1.0, "004_428dc53703d8f109.txt:230-241"),
                         "trade_gap": (1.0, "001_e7aa02c26cd915e1.txt:50-52"),
                         "recession": (0.5, "000_75864654e862cb18.txt:29-31")},
    "economic_cooperation": {"isolation": (1.0, "004_428dc53703d8f109.txt:230-241"),
                             "recession": (1.0, "000_75864654e862cb18.txt:29-31"),
                             "blocked": (1.0, "000_75864654e862cb18.txt:91-97"),
                             "trade_gap": (1.0, "001_e7aa02c26cd915e1.txt:50-52")},
    "visit": {"lean": (1.0, "000_75864654e862cb18.txt:33"), "recession": (0.5, "000_75864654e862cb18.txt:29-31")},
    "friction": {"hostility": (2.0, "001_e7aa02c26cd915e1.txt:116"),
                 "lean": (-1.5, "004_428dc53703d8f109.txt:132-139")},
    "sanction": {"hostility": (2.0, "004_428dc53703d8f109.txt:1-9")},
}
