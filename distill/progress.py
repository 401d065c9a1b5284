"""Progress bars that follow the CLI's verbosity: shown by default and with `-v`, hidden with
`-q` (which sets edgekit's logger above INFO; a Python caller who never set it sees them)."""

from __future__ import annotations

import logging

from tqdm.auto import tqdm

log = logging.getLogger("edgekit")


def progress_bar(*args, disable: bool | None = False, **kwargs) -> tqdm:
    return tqdm(*args, disable=disable or log.level > logging.INFO, **kwargs)
