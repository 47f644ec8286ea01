"""The rotating log file: every warning and error of every run, beside the console output."""
from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

DEFAULT_LOG = Path("var/log/hiwatch.log")


def attach_file_log(path: str | os.PathLike | None = None, level: int = logging.WARNING) -> Path:
    """Add a rotating file handler (5 × 5 MB) to the root logger; HIWATCH_LOG_FILE overrides the path."""
    target = Path(path or os.environ.get("HIWATCH_LOG_FILE") or DEFAULT_LOG)
    target.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == target.resolve():
            return target
    handler = RotatingFileHandler(target, maxBytes=5 * 1024 * 1024, backupCount=5, encoding="utf-8")
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d [%(name)s] %(levelname)s: %(message)s"))
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    return target
