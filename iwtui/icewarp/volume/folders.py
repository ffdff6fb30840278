"""What the Volume walker keeps per folder between walks: ``Folder`` records, in a dict or
``Packed`` as read back from the state dir, behind one ``FolderCache`` (``walk`` reuses
them; ``store`` writes and reads them)."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from sys import intern
from typing import NamedTuple


class Folder(NamedTuple):
    """What the cache keeps per folder: enough to re-add it without listing it (kept small:
    a million files in 100,000 folders stay under 100 MB)."""

    stamp: int  # stamp(lstat of the folder) when cached; HOT when it must be read again
    bytes: int  # direct regular files with a single link
    files: int
    subdirs: tuple[str, ...]
    links: tuple[int, ...]  # hard-linked direct files, flattened (dev, ino, size) triples
    oldest: int = 0  # the oldest direct regular file's mtime, seconds (0: none)


# HOT: the stamp of a folder holding a file written within HOT_SECONDS: never reused.
# stamp(st): one integer for (inode, mtime, ctime) (both in restat, the rescan's check)


class Packed:
    """Cache records as read back from the state dir, packed: in pre-order (a folder, then
    the subtree of each of its subfolders, so ``ends[i]`` is the index after folder ``i``'s
    subtree) in arrays, one ``Folder`` made only when asked for. A folder listed in ``subs``
    is incomplete (not every subfolder has a record right after it): its subtree is itself
    alone, its subfolder names are kept there."""

    __slots__ = ("ends", "incomplete", "linked", "links", "nbytes", "nfiles", "oldest", "paths",
                 "pos", "stamps", "subs")  # fmt: skip

    def __init__(self, paths: list[str], stamps: array[int], nbytes: array[int],
                 nfiles: array[int], oldest: array[int], ends: array[int],
                 links: dict[int, tuple[int, ...]], subs: dict[int, tuple[str, ...]]) -> None:  # fmt: skip
        self.paths = paths
        self.pos = dict(zip(paths, range(len(paths)), strict=False))
        self.stamps, self.nbytes, self.nfiles, self.oldest = stamps, nbytes, nfiles, oldest
        self.ends = ends
        self.links = links
        self.subs = subs
        self.incomplete = sorted(subs)
        self.linked = sorted(links)

    def __len__(self) -> int:
        return len(self.paths)

    def folder(self, i: int) -> Folder:
        subs = self.subs.get(i)
        if subs is None:
            names: list[str] = []
            paths, ends = self.paths, self.ends
            j, end = i + 1, ends[i]
            while j < end:
                names.append(intern(paths[j].rpartition("/")[2]))
                j = ends[j]
            subs = tuple(names)
        return Folder(self.stamps[i], self.nbytes[i], self.nfiles[i], subs,
                      self.links.get(i, ()), self.oldest[i])  # fmt: skip

    def whole(self, i: int, end: int) -> bool:
        """Every folder of ``[i, end)`` complete (its subtree is its records)."""
        k = bisect_left(self.incomplete, i)
        return k == len(self.incomplete) or self.incomplete[k] >= end


class FolderCache:
    """path -> ``Folder``: what the walker reuses. Records read from the state dir stay
    ``packed``; records set since are in ``folders`` (looked up first)."""

    __slots__ = ("folders", "packed")

    def __init__(self, folders: dict[str, Folder] | None = None,
                 packed: Packed | None = None) -> None:  # fmt: skip
        self.folders: dict[str, Folder] = folders if folders is not None else {}
        self.packed = packed

    def get(self, path: str) -> Folder | None:
        f = self.folders.get(path)
        if f is None and self.packed is not None:
            i = self.packed.pos.get(path)
            if i is not None:
                return self.packed.folder(i)
        return f

    def __bool__(self) -> bool:
        return bool(self.folders) or bool(self.packed)

    def as_dict(self) -> dict[str, Folder]:
        """Every record as a Folder (packed ones made now; the packed copy is dropped)."""
        if self.packed is not None:
            pk, mine = self.packed, self.folders
            out = {p: pk.folder(i) for p, i in pk.pos.items() if p not in mine}
            out.update(mine)
            self.folders, self.packed = out, None
        return self.folders

    def replace(self, other: FolderCache | dict[str, Folder]) -> None:
        if isinstance(other, FolderCache):
            self.folders, self.packed = other.folders, other.packed
        else:
            self.folders, self.packed = other, None


Cache = FolderCache | dict[str, Folder]
