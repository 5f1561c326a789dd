"""The 63 causal mechanisms the source documents describe (../shared/MECHANISMS.md), by id.

Each entry is a short paraphrase of the mechanism and, for those no model
mechanism covers, why it is not modelled. Which mechanism covers an id, and
how (a state-dependent rule with feedback, or a scripted input), is declared
by the mechanism modules themselves (their ``ids``); the generated model
description (docs/model.md) joins the two.
"""

from __future__ import annotations

CATALOG: dict[str, tuple[str, str]] = {
    # id: (mechanism, why it is not modelled - used only while no module covers it)
    "T1": ("Importer growth pulls in the partner's goods; size gaps widen", ""),
    "T2": ("Complementary, lopsided export baskets; raw-material lock-in", ""),
    "T3": ("Transport capacity binds trade until infrastructure opens", ""),
    "T4": ("State-driven trade with thin private effort", ""),
    "T5": ("Screening of the partner's firms stalls investment projects",
           "investment is not a state variable; the documents give no series to fit it to"),
    "T6": ("Ties to Western markets keep bilateral flows small", ""),
    "T7": ("A global crisis sends a state after Asian growth", ""),
    "T8": ("Sanctions push the target to open sectors to the partner; deals may stay unrealised", ""),
    "T9": ("The partner cannot replace Western credit and technology", ""),
    "T10": ("Recession and devaluation cut trade in dollars", ""),
    "T11": ("Trade targets are aspirations and get missed", "targets are statements, not a driver of flows"),
    "T12": ("Weak trade triggers political pushes for economic ties", ""),
    "T13": ("Investment concentrates in adjacent regions", "the model has no sub-national geography"),
    "A1": ("Arms transfers come in waves (regimes)", ""),
    "A2": ("Indigenous industry and copying erode import demand", ""),
    "A3": ("Fear of copying makes the seller withhold top systems", ""),
    "A4": ("The seller hurries to sell while its lead lasts", ""),
    "A5": ("The seller needs arms revenue", ""),
    "A6": ("Ties with a rival client restrain sales; its diversification releases them", ""),
    "A7": ("The buyer's cheap exports take the seller's third markets", ""),
    "A8": ("Threats drive off-the-shelf buying", ""),
    "A9": ("Isolation makes the seller release sophisticated systems", ""),
    "A10": ("Buyer-seller turns into co-development", ""),
    "A11": ("Deliveries slip; quality and service disappoint", ""),
    "A12": ("The seller also arms the buyer's rivals", ""),
    "E1": ("A pipeline replaces the rail bottleneck", ""),
    "E2": ("Pipelines slip for years over route and cost", ""),
    "E3": ("Energy megadeals are made under sanctions pressure", ""),
    "E4": ("The partner's loans replace sanctioned Western money in energy projects", ""),
    "E5": ("Alternative pipelines reduce the supplier's leverage", ""),
    "E6": ("Other state-led energy routes are weak and slow",
           "secondary routes carry no recorded volumes in the documents"),
    "E7": ("The supplier's budget depends on hydrocarbon sales and prices", ""),
    "O1": ("Division of labour in an organisation: security versus economics", ""),
    "O2": ("A member vetoes the other's economic agenda, which then goes bilateral", ""),
    "O3": ("Competing regional integration projects, with a truce", ""),
    "O4": ("Enlargement politics: counterweights and paralysis fears", ""),
    "O5": ("A club works when it has its own finance and avoids spheres of influence", ""),
    "O6": ("Local-currency settlement reduces dollar reliance",
           "no currency composition in the model; the documents give no series"),
    "O7": ("Mistrust among members limits a club's cohesion", ""),
    "O8": ("Crises securitise a club and raise coordination", ""),
    "O9": ("Security organisations give their leader levers", ""),
    "O10": ("In a shared neighbourhood one partner offers troops, the other money", ""),
    "P1": ("Leader rapport sustains coordination and agreements", ""),
    "P2": ("Leadership change: a pause, then early visits", ""),
    "P3": ("A treaty anchors the relationship", ""),
    "P4": ("Asymmetry: the weaker partner is tactical, the stronger strategic", ""),
    "P5": ("Aversion to junior status leads to hedging", ""),
    "P6": ("A settled border removes a dispute", ""),
    "P7": ("A latent view of the partner as a rival", ""),
    "P8": ("Demographic imbalance across the border feeds distrust", ""),
    "P9": ("Elite-society gaps cap how deep ties go", ""),
    "P10": ("Shared anti-hegemony, but bounded support on core issues", ""),
    "X1": ("A shared external threat with unequal stakes leads to coordination", ""),
    "X2": ("Dependence on Western markets caps opposition to the hegemon", ""),
    "X3": ("A thaw with the hegemon loosens the partnership", ""),
    "X4": ("Pressure from the hegemon raises the demand for the partner", ""),
    "X5": ("Missile defence near both leads to military coordination", ""),
    "X6": ("A regional crisis brings tight diplomatic coordination", ""),
    "X7": ("A third state courted by one partner and opposed by the other", ""),
    "X8": ("Uprisings abroad raise the appetite for security cooperation", ""),
    "X9": ("A withdrawal from a neighbouring war pushes a club toward stabilisation", ""),
    "X10": ("Annexation and sanctions isolate a state and drive its pivot", ""),
    "X11": ("Oil prices feed the supplier's budget", ""),
}

assert len(CATALOG) == 63
