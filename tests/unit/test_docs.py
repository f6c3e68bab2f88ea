"""The README and docs/ speak to users: every setting documented, the install size stated,
and no words about how the project was made."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
DOCS = {p.name: p.read_text() for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]}
HISTORY = re.compile(r"\bseeds?\b|\bseed-\d|\bissues?\b|this 2-core machine|\bhelpers?\b", re.IGNORECASE)


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_readme_and_docs_have_no_project_history_words() -> None:
    found = {name: sorted({m.group(0) for m in HISTORY.finditer(text)}) for name, text in DOCS.items()}
    assert not {name: words for name, words in found.items() if words}


def test_every_variable_settings_reads_is_in_the_configuration_table() -> None:
    config = (REPO / "functions" / "config.py").read_text()
    read = set(re.findall(r'(?:_env|_env_bool|_env_pairs|os\.environ\.get)\(\s*"([A-Z0-9_]+)"', config))
    assert {"REDIS_URL", "MYSQL_URL", "RATE_LIMIT_BURST"} <= read
    table = section(README, "Configuration")
    missing = {name for name in read if f"`{name}`" not in table}
    assert not missing, f"README's Configuration lacks {sorted(missing)}"


def test_the_readme_states_the_size_of_the_up_environment_and_troubleshoots() -> None:
    assert re.search(r"`\./surge up` \| [^|]+\| \d+ MB \|", README), "the .venv size of ./surge up"
    trouble = section(README, "Troubleshooting")
    for topic in ("port", "429", "Redis", "MariaDB", "macOS", "start-stop-daemon"):
        assert topic in trouble, topic
