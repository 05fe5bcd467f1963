"""Every button in a template has the shared button style: a variant class alone
(`button-danger`, `button-secondary`) leaves an unstyled browser button that fails colour
contrast (issue 13: the transcript page's "Destroy this transcript now")."""

import re
from pathlib import Path

HAVEN = Path(__file__).resolve().parents[1] / "haven"
VARIANT = re.compile(r'class="([^"]*\bbutton-(?:danger|secondary)\b[^"]*)"')


def test_every_button_variant_also_has_the_button_class():
    unstyled = [
        f"{template.relative_to(HAVEN)}: {classes}"
        for template in HAVEN.rglob("*.html")
        for classes in VARIANT.findall(template.read_text())
        if "button" not in classes.split()
    ]
    assert unstyled == []
