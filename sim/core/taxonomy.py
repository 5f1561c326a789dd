"""Event taxonomy shared by the historical record and the model.

Both sides must speak the same vocabulary, otherwise a comparison counts apples
against oranges; so the list lives in one place. Each type maps to one CAMEO
root code (the ICEWS/GDELT convention), its quad class and one Goldstein weight
taken from GDELT's CAMEO table (see ../shared/FIELD_NOTES.md, "Event coding
conventions"). One weight per type keeps the record and the simulation on the
same scale; the finer CAMEO sub-codes are kept for reference only.
"""

from __future__ import annotations

from dataclasses import dataclass

QUAD_CLASSES = {
    1: "verbal cooperation",
    2: "material cooperation",
    3: "verbal conflict",
    4: "material conflict",
}


@dataclass(frozen=True)
class EventType:
    name: str
    cameo: str
    quad: int
    goldstein: float
    meaning: str


_TYPES = [
    EventType("leader_meeting", "043", 1, 2.8,
              "heads of state or government meet bilaterally (state visit, summit, sideline talks)"),
    EventType("visit", "042", 1, 1.9,
              "official visit or delegation below leader level (ministers, governors, parliament, military chiefs)"),
    EventType("consultation", "040", 1, 1.0,
              "talks, consultations, dialogues, commissions and strategic or security consultations"),
    EventType("phone_call", "041", 1, 1.0, "telephone conversation between officials"),
    EventType("greeting", "013", 1, 0.4,
              "congratulations, condolences, greetings and messages on anniversaries"),
    EventType("statement_of_support", "051", 1, 3.4,
              "joint statement of position, public endorsement or praise of the partner"),
    EventType("multilateral_meeting", "044", 1, 2.5,
              "meeting of an organisation or forum both take part in (summit, ministerial, council)"),
    EventType("agreement_signed", "057", 1, 8.0, "treaty, agreement, memorandum or joint communique signed"),
    EventType("economic_cooperation", "061", 2, 6.4,
              "economic or energy project milestone: pipeline, loan, investment, trade deal carried out"),
    EventType("military_exercise", "062", 2, 7.4, "joint military exercise or naval drill"),
    EventType("military_cooperation", "062", 2, 7.4,
              "defence cooperation other than exercises: port calls, staff talks, joint missile-defence work"),
    EventType("arms_contract", "0312", 1, 5.2, "arms sale or licence agreed (intent to cooperate militarily)"),
    EventType("arms_delivery", "072", 2, 8.3, "delivery of weapons or military equipment"),
    EventType("friction", "111", 3, -2.0, "criticism, complaint, dispute or denial between the two"),
    EventType("sanction", "163", 4, -8.0, "sanctions, embargo or restriction imposed"),
]

EVENT_TYPES: dict[str, EventType] = {t.name: t for t in _TYPES}
EVENT_TYPE_NAMES: tuple[str, ...] = tuple(EVENT_TYPES)


def goldstein(event_type: str) -> float:
    return EVENT_TYPES[event_type].goldstein
