"""The specs of one run, for sublayers whose class is another spec's layer.

A sublayer names another spec's layer by its class (``layer = "RMSNorm"``,
a spec of the same run) or by its file (``spec = "rms_norm.toml"``, relative
to the spec that uses it; such a spec joins the run). :class:`Run` loads each
spec once, in the order the run names them, and refuses a cycle (a layer
built, through its sublayers, from itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from layergen.errors import Diagnostic, SpecError
from layergen.files.reading import read_spec
from layergen.spec.model import LayerSpec
from layergen.spec.source_map import parse_toml
from layergen.spec.validate.schema import DEFAULT_PACKAGE


class SublayerCycle(Exception):
    """A spec reached again while it is being loaded: ``chain`` is the spec
    files from that spec back to itself."""

    def __init__(self, chain: list[Path]) -> None:
        super().__init__(" -> ".join(path.name for path in chain))
        self.chain = chain


class Run:
    """The specs one command generates or checks: ``paths``, in order, and the
    specs they name as sublayers (``spec = ...``), loaded on first use.
    ``allow_imports``: the top-level modules a sublayer's class may come from
    (``[tool.layergen] allow-imports``)."""

    def __init__(
        self,
        paths: Sequence[Path] = (),
        *,
        default_package: str = DEFAULT_PACKAGE,
        allow_imports: Iterable[str] = (),
    ) -> None:
        self.paths = list(paths)
        self.default_package = default_package
        self.allow_imports = frozenset(allow_imports)
        self._loaded: dict[Path, LayerSpec | SpecError] = {}
        self._order: list[Path] = []
        self._loading: list[Path] = []
        self._classes: dict[str, list[Path]] | None = None
        self._beside: dict[Path, dict[str, list[Path]]] = {}

    def classes(self, directory: Path | None = None) -> dict[str, list[Path]]:
        """Each class name the run's specs declare (``[layer] name``, read
        without validating: a spec's own load reports its errors), with the
        spec files that declare it; then those that only the spec files in
        ``directory`` (a spec's own) declare, so that ``layergen explain`` or
        ``check`` of one spec finds the layers beside it."""
        if self._classes is None:
            self._classes = _declared(self.paths)
        if directory is None:
            return self._classes
        key = directory.resolve()
        if key not in self._beside:
            run = {path.resolve() for path in self.paths}
            files = [p for p in directory.glob("*.toml") if p.resolve() not in run]
            beside = _declared(sorted(files))
            self._beside[key] = {
                **{k: v for k, v in beside.items() if k not in self._classes},
                **self._classes,
            }
        return self._beside[key]

    def load(self, path: Path) -> LayerSpec:
        """The validated spec at ``path``, loaded once; raises SpecError for
        an invalid spec and SublayerCycle for one being loaded."""
        from layergen.spec.validate.document import load_spec

        key = path.resolve()
        if key in self._loading:
            raise SublayerCycle([*self._loading[self._loading.index(key) :], key])
        if key not in self._loaded:
            self._loading.append(key)
            try:
                self._loaded[key] = load_spec(
                    path, default_package=self.default_package, run=self
                )
            except SpecError as exc:
                self._loaded[key] = exc
            finally:
                self._loading.pop()
            self._order.append(key)
        loaded = self._loaded[key]
        if isinstance(loaded, SpecError):
            raise loaded
        return loaded

    def load_all(self) -> list[LayerSpec]:
        """Every spec of the run and those they name, each once, the run's
        first; raises one SpecError with the diagnostics of all invalid ones."""
        for path in self.paths:
            try:
                self.load(path)
            except SpecError:
                continue
        specs: list[LayerSpec] = []
        errors: list[Diagnostic] = []
        named = [path.resolve() for path in self.paths]
        for key in dict.fromkeys([*named, *self._order]):
            loaded = self._loaded[key]
            if isinstance(loaded, SpecError):
                errors.extend(loaded.diagnostics)
            else:
                specs.append(loaded)
        if errors:
            raise SpecError(errors)
        return specs


def _declared(paths: Iterable[Path]) -> dict[str, list[Path]]:
    classes: dict[str, list[Path]] = {}
    for path in paths:
        name = _class_name(path)
        if name is not None:
            classes.setdefault(name, []).append(path)
    return classes


def _class_name(path: Path) -> str | None:
    try:
        name = parse_toml(read_spec(path), str(path)).get("layer", {}).get("name")
    except (OSError, UnicodeDecodeError, SpecError, AttributeError):
        # Not a spec (or not one layergen can read): its own load says why.
        return None
    return name if isinstance(name, str) else None
