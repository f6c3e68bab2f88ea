"""What ``./surge up`` watches to reload, as ``chalice local`` does: ``app.py``, ``functions/``
and ``.chalice/config.json``. Polling mtimes (every 0.2 s, about a hundred files) needs
no extra package and costs next to nothing."""

from __future__ import annotations

from pathlib import Path


class Watcher:
    def __init__(self, root: Path):
        self._root = root
        self._seen = self._snapshot()

    def _files(self) -> list[Path]:
        files = [self._root / "app.py", self._root / ".chalice" / "config.json"]
        files += [p for p in (self._root / "functions").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        return files

    def _snapshot(self) -> dict[Path, float]:
        snapshot = {}
        for path in self._files():
            try:
                snapshot[path] = path.stat().st_mtime
            except OSError:  # deleted between the listing and the stat
                continue
        return snapshot

    def changed(self) -> list[str]:
        """Files added, changed or removed since the last call (relative to the project)."""
        now = self._snapshot()
        paths = {p for p in now.keys() | self._seen.keys() if now.get(p) != self._seen.get(p)}
        self._seen = now
        return sorted(str(p.relative_to(self._root)) for p in paths)
