"""What a load did: per file, per table, in total."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# FileResult.status
LOADED = "loaded"  # read, its good rows in raw.<table>, its bad rows in raw._quarantine
DUPLICATE = "duplicate"  # same content as a file already loaded: recorded, not loaded again
SKIPPED = "skipped"  # this very file was loaded by an earlier run
REJECTED = "rejected"  # unreadable: moved to <landing>/_rejected/<table>/


@dataclass
class FileResult:
    table: str
    source_file: str  # relative to the landing directory
    status: str
    rows_loaded: int = 0
    rows_quarantined: int = 0
    message: str = ""
    file_sha256: str | None = None
    file_bytes: int = 0
    seconds: float = 0.0


@dataclass
class TableReport:
    table: str
    load_id: str
    files: list[FileResult] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    # paths loaded before whose content changed since: loaded again (docs/landing_contract.md)
    changed_files: list[str] = field(default_factory=list)
    # what was found wrong with raw.<table> against raw._loaded_files and repaired
    # (docs/reliability.md)
    repairs: list[str] = field(default_factory=list)

    def _count(self, *statuses: str) -> int:
        return sum(1 for f in self.files if f.status in statuses)

    @property
    def files_loaded(self) -> int:
        return self._count(LOADED)

    @property
    def files_skipped(self) -> int:
        """Files not loaded because they (or their content) were loaded before."""
        return self._count(SKIPPED, DUPLICATE)

    @property
    def files_rejected(self) -> int:
        return self._count(REJECTED)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def to_dict(self) -> dict:
        return {
            "table": self.table,
            "load_id": self.load_id,
            "files_loaded": self.files_loaded,
            "files_skipped": self.files_skipped,
            "files_rejected": self.files_rejected,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "columns_added": list(self.columns_added),
            "changed_files": list(self.changed_files),
            "repairs": list(self.repairs),
            "files": [asdict(f) for f in self.files if f.status != SKIPPED],
        }


# summary table: (title, width); a negative width aligns left
COLUMNS = (
    ("table", -22),
    ("files", 7),
    ("skipped", 9),
    ("rejected", 10),
    ("rows", 12),
    ("quarantined", 13),
)


@dataclass
class LoadReport:
    load_id: str
    landing_dir: str
    warehouse: str
    tables: dict[str, TableReport] = field(default_factory=dict)
    unknown_folders: list[str] = field(default_factory=list)
    # files not loaded for their type or place: {"path", "reason"}
    # (docs/landing_contract.md#folders-and-files)
    unsupported_files: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def files_ignored(self) -> int:
        """Unknown table folders and unsupported files: reported, an error under --strict."""
        return len(self.unknown_folders) + len(self.unsupported_files)

    @property
    def rows_loaded(self) -> int:
        return sum(t.rows_loaded for t in self.tables.values())

    @property
    def rows_quarantined(self) -> int:
        return sum(t.rows_quarantined for t in self.tables.values())

    @property
    def files_loaded(self) -> int:
        return sum(t.files_loaded for t in self.tables.values())

    @property
    def files_skipped(self) -> int:
        return sum(t.files_skipped for t in self.tables.values())

    @property
    def files_rejected(self) -> int:
        return sum(t.files_rejected for t in self.tables.values())

    @property
    def is_empty(self) -> bool:
        """No file at all in the landing directory: a wrong path, or nothing simulated yet."""
        return not (
            self.files_loaded or self.files_skipped or self.files_rejected or self.files_ignored
        )

    def empty_warning(self) -> str:
        return (
            f"warning: no landing files in {self.landing_dir}: nothing was loaded. Write some "
            "with `make simulate`, or point --landing (EXCHANGE_LANDING_DIR) at the folder "
            "holding the exchange's exports (one subfolder per table: docs/architecture.md)."
        )

    def to_dict(self) -> dict:
        return {
            "load_id": self.load_id,
            "landing_dir": self.landing_dir,
            "warehouse": self.warehouse,
            "seconds": round(self.seconds, 3),
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "files_loaded": self.files_loaded,
            "files_skipped": self.files_skipped,
            "files_rejected": self.files_rejected,
            "unknown_folders": list(self.unknown_folders),
            "unsupported_files": [dict(f) for f in self.unsupported_files],
            "empty_landing": self.is_empty,
            "tables": {name: t.to_dict() for name, t in self.tables.items()},
        }

    def summary(self) -> str:
        header = "".join(
            f"{title:>{width}}" if width > 0 else f"{title:<{-width}}" for title, width in COLUMNS
        )
        lines = [f"load {self.load_id}: {self.landing_dir} -> {self.warehouse}", header]
        for name, t in self.tables.items():
            lines.append(
                f"{name:<22}{t.files_loaded:>7}{t.files_skipped:>9}{t.files_rejected:>10}"
                f"{t.rows_loaded:>12}{t.rows_quarantined:>13}"
            )
        lines.append(
            f"{'total':<22}{self.files_loaded:>7}{self.files_skipped:>9}{self.files_rejected:>10}"
            f"{self.rows_loaded:>12}{self.rows_quarantined:>13}   ({self.seconds:.1f}s)"
        )
        for t in self.tables.values():
            lines += [f"changed since loaded, loaded again: {rel}" for rel in t.changed_files]
            lines += [f"repaired: {repair}" for repair in t.repairs]
        for folder in self.unknown_folders:
            lines.append(f"ignored folder {folder!r}: not a table of the landing contract")
        for ignored in self.unsupported_files:
            lines.append(f"ignored file {ignored['path']!r}: {ignored['reason']}")
        if self.is_empty:
            lines.append(self.empty_warning())
        return "\n".join(lines)
