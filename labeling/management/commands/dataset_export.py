"""`manage.py dataset_export DATASET_ID --format csv --output PATH|-`: stream a dataset out."""

from __future__ import annotations

import codecs
import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling import exporting, selectors
from labeling.management.commands._cli import dataset_get
from labeling.selectors import ExportChunk


class _Tally:
    """Counts the items and annotations that pass through on their way to the writer."""

    def __init__(self) -> None:
        self.items = 0
        self.annotations = 0

    def count(self, chunks: Iterable[ExportChunk]) -> Iterator[ExportChunk]:
        for chunk in chunks:
            self.items += len(chunk)
            self.annotations += sum(map(len, chunk.columns["annotations"]))
            yield chunk


class Command(BaseCommand):
    help = (
        "Export every item with its data, metadata, all annotations and reference label, "
        "streamed to a file (or '-' for standard output)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset_id", type=int)
        parser.add_argument(
            "--format",
            dest="fmt",
            choices=list(exporting.EXPORT_FORMATS),
            default="csv",
            help="csv (default), jsonl, parquet or label-studio.",
        )
        parser.add_argument(
            "--output", required=True, help="The file to write, or '-' for standard output."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = dataset_get(options["dataset_id"])
        fmt, output = options["fmt"], options["output"]
        tally = _Tally()
        stream = exporting.export_stream(
            fmt,
            tally.count(selectors.export_chunks(dataset=dataset)),
            data_fields=list(dataset.data_fields),
            metadata_fields=list(dataset.metadata_fields),
        )
        if output == "-":
            size = self._to_stdout(stream, fmt)
            where, report = "standard output", self.stderr.write
        else:
            path = Path(output)
            size = _to_file(stream, path)
            where, report = str(path), self.stdout.write
        report(
            f"Exported {tally.items:,} items ({tally.annotations:,} annotations) of "
            f"'{dataset.name}' (id {dataset.pk}) as {fmt} to {where} ({size:,} bytes)."
        )

    def _to_stdout(self, stream: Iterator[bytes], fmt: str) -> int:
        self.stdout.flush()
        binary = getattr(self.stdout, "buffer", None)  # the real stdout has one, a StringIO not
        size = 0
        if binary is not None:
            for chunk in stream:
                binary.write(chunk)
                size += len(chunk)
            binary.flush()
            return size
        if fmt == "parquet":
            raise CommandError("Parquet is binary: write it to a file with --output PATH.")
        decoder = codecs.getincrementaldecoder("utf-8")()
        for chunk in stream:
            self.stdout.write(decoder.decode(chunk), ending="")
            size += len(chunk)
        self.stdout.write(decoder.decode(b"", final=True), ending="")
        return size


def _to_file(stream: Iterator[bytes], path: Path) -> int:
    """Write to a temporary file beside the target and rename it, so a failed export leaves no
    half-written file behind."""
    if path.is_dir():
        raise CommandError(f"{path} is a directory; give a file name.")
    if not path.parent.is_dir():
        raise CommandError(f"The directory {path.parent} does not exist.")
    partial = path.with_name(f".{path.name}.part")
    size = 0
    try:
        with partial.open("wb") as out:
            for chunk in stream:
                out.write(chunk)
                size += len(chunk)
        os.replace(partial, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise CommandError(f"Can't write {path}: {exc.strerror or exc}.") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return size
