"""One figure of the fault suite and the table that prints them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    """``tried`` cases of ``scenario``, of which ``held`` met every check; ``lost`` lists what did not
    (one line each, with the reason), ``figures`` extra measurements (name -> value with its unit)."""

    scenario: str
    tried: int
    held: int
    lost: list[str] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.held == self.tried and not self.lost


def table(rows: list[Row]) -> str:
    """A Markdown table: scenario, held/tried, lost, figures."""
    lines = ["| scenario | held | lost | figures |", "|---|---|---|---|"]
    for row in rows:
        lost = "; ".join(row.lost[:5]) + (f" (+{len(row.lost) - 5} more)" if len(row.lost) > 5 else "")
        figures = ", ".join(f"{k} {v}" for k, v in row.figures.items())
        lines.append(f"| {row.scenario} | {row.held}/{row.tried} | {lost or '0'} | {figures} |")
    return "\n".join(lines)
