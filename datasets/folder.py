"""``folder:PATH``: a dataset from a folder of images laid out as one of the known layouts.

The layouts, and which files become ``real`` and which a generator's source, are in
:mod:`ganprint.datasets.layouts`: ganprint's own (``PATH/real/`` and one folder per generator),
folders that carry their own ``train/ val/ test/`` split, Wang et al. 2020 (CNNDetection) and
GenImage. Indexing, splits, the size rule and the content hash are those of
:mod:`ganprint.datasets.image_files`; colour conversion is :mod:`ganprint.datasets.decode`'s.
Hidden files are ignored; anything else that cannot be read is listed in ``dataset.skipped`` (a
folder that cannot be listed as one line). A missing path, a tree that fits no layout, or one
without readable real and generated images is a :class:`ganprint.dataset.DatasetError`.

In ganprint's own layout the records, splits and content hash are the same as before the other
layouts existed: ids are paths relative to PATH, files are taken in path order, and each source's
readable files are hashed 60/20/20.
"""
from __future__ import annotations

from pathlib import Path

from ganprint.dataset import DatasetError
from ganprint.datasets.image_files import ImageFileDataset
from ganprint.datasets.layouts import recognise


class FolderDataset(ImageFileDataset):
    """The images under the folder ``path``; ``layout`` names the layout it was read as."""

    def __init__(self, path: str | Path, image_size: int | None = None, image_fit: str | None = None,
                 workers: int | None = None) -> None:
        root = Path(path).expanduser()
        if not root.exists():
            raise DatasetError(f"folder dataset: {root} does not exist")
        if not root.is_dir():
            raise DatasetError(f"folder dataset: {root} is not a folder")
        layout = recognise(root)
        self.root = root
        self.layout = layout.name
        super().__init__(f"folder:{root}", layout.entries, skipped=layout.skipped, image_size=image_size,
                         image_fit=image_fit, workers=workers, require_real=True)
