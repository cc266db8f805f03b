"""Named data sets and files, loaded into a train/test `DataSplit`.

``load_dataset(name_or_path)`` accepts:

- ``digits``: scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes; offline);
- ``mnist`` / ``fashion-mnist``: the four IDX files (``train-images-idx3-ubyte`` ... ``.gz`` or raw) in
  ``data_dir``;
- ``xor``, ``spirals``, ``circles``, ``blobs``: small synthetic sets (2 features);
- ``line``: one feature and a numeric target (t = 1.5x − 0.5 + noise), for a two-weight model (w, b);
- a ``.csv`` file with a header row; the target column is ``target`` (or the last column);
- a ``.npz`` file with arrays ``x``, ``y`` (and optionally ``x_test``, ``y_test``).

Without a given test set, a seeded split holds out ``test_fraction`` of the examples.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._core import DataError, Standardizer, train_test_split

SYNTHETIC = ("xor", "spirals", "circles", "blobs", "line")
NAMED = ("digits", "mnist", "fashion-mnist", *SYNTHETIC)
#: integer targets with at most this many distinct values are treated as class labels
MAX_CLASSES = 100
#: bounds on what a data file may make us allocate (raise them for bigger data sets)
MAX_BYTES = 4 * 1024**3
MAX_CSV_COLUMNS = 10_000


@dataclass
class DataSplit:
    """Train and test arrays plus what a model needs to know about them.

    ``task`` is ``"classification"`` (``y`` holds class indices 0..k−1, ``classes`` their original labels)
    or ``"regression"`` (``y`` holds float targets of shape ``(n, outputs)``). ``image_shape`` is
    ``(channels, height, width)`` for image data (rows of ``x`` are flattened images), else None.

    >>> split = load_dataset("blobs", seed=0)
    >>> split.name, split.task, split.classes, split.x_train.shape, split.x_test.shape, split.x_train.dtype
    ('blobs', 'classification', [0, 1, 2], (320, 2), (80, 2), dtype('float32'))
    >>> split.n_features, split.n_outputs
    (2, 3)
    >>> bool(abs(split.x_train.mean(axis=0)).max() < 1e-6), split.x_train.std(axis=0).round(4)
    (True, array([1., 1.], dtype=float32))
    >>> raw = load_dataset("blobs", seed=0, standardize=False, dtype=np.float64)
    >>> raw.scaler is None, raw.standardize().scaler.transform(raw.x_test).shape
    (True, (80, 2))
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "classification"
    classes: list[Any] = field(default_factory=list)
    scaler: Standardizer | None = None
    image_shape: tuple[int, int, int] | None = None  # (channels, height, width) of image data sets

    @property
    def n_features(self) -> int:
        """Numbers per example (the product of a row's shape: 784 for 28×28 images).

        >>> load_dataset("circles", seed=0).n_features
        2
        """
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def n_outputs(self) -> int:
        """Outputs a model needs: the number of classes, or of numeric targets for regression.

        >>> load_dataset("blobs", seed=0).n_outputs, load_dataset("line", seed=0).n_outputs
        (3, 1)
        """
        if self.task == "classification":
            return len(self.classes)
        return 1 if self.y_train.ndim == 1 else self.y_train.shape[1]

    def astype(self, dtype: Any) -> DataSplit:
        """Cast the features (and numeric targets) to ``dtype`` (returns self).

        >>> split = load_dataset("line", seed=0).astype(np.float64)
        >>> split.task, split.x_train.dtype, split.y_train.dtype
        ('regression', dtype('float64'), dtype('float64'))
        """
        self.x_train, self.x_test = self.x_train.astype(dtype, copy=False), self.x_test.astype(dtype, copy=False)
        if self.task == "regression":
            self.y_train, self.y_test = self.y_train.astype(dtype, copy=False), self.y_test.astype(dtype, copy=False)
        return self

    def standardize(self) -> DataSplit:
        """Fit a `Standardizer` on the training features and apply it to both splits (returns self).

        >>> split = load_dataset("xor", seed=0, standardize=False)
        >>> split.scaler is None
        True
        >>> split.standardize().scaler.mean.round(3), split.x_train.mean(axis=0).round(6) + 0.0
        (array([0.524, 0.559]), array([0., 0.]))
        """
        self.scaler = Standardizer().fit(self.x_train)
        self.x_train, self.x_test = self.scaler.transform(self.x_train), self.scaler.transform(self.x_test)
        return self


def _classify(name: str, y: np.ndarray, y_test: np.ndarray | None = None
              ) -> tuple[str, list[Any], np.ndarray, np.ndarray | None]:
    """Decide the task from the targets and encode class labels as 0..k−1."""
    both = y if y_test is None else np.concatenate([y.reshape(len(y), -1), y_test.reshape(len(y_test), -1)])
    numeric = both.dtype.kind in "iufb"
    if numeric and both.dtype.kind == "f" and (not np.all(np.isfinite(both))):
        raise DataError(f"{name}: the targets contain NaN or infinite values")
    integral = numeric and (both.dtype.kind in "iub" or bool(np.all(both == np.round(both))))
    single = both.ndim == 1 or both.shape[1] == 1
    if single and (not numeric or (integral and len(np.unique(both)) <= MAX_CLASSES)):
        if integral and both.dtype.kind == "f":
            both = both.astype(np.int64)  # labels read as 0.0, 1.0 ... are the classes 0, 1 ...
        classes, codes = np.unique(both.reshape(-1), return_inverse=True)
        if len(classes) < 2:
            raise DataError(f"{name}: every example has the label {classes[0].item()!r}; a classifier needs at "
                            f"least two classes")
        codes = codes.reshape(-1).astype(np.int64)
        labels = [c.item() if hasattr(c, "item") else c for c in classes]
        return "classification", labels, codes[:len(y)], (None if y_test is None else codes[len(y):])
    y_float = y.astype(np.float64).reshape(len(y), -1)
    yt_float = None if y_test is None else y_test.astype(np.float64).reshape(len(y_test), -1)
    return "regression", [], y_float, yt_float


def check_finite(name: str, x: np.ndarray, what: str = "features", first_row: int = 0) -> None:
    """Refuse NaN or infinite features, naming the first bad row and column (rows counted from ``first_row``).

    >>> check_finite("train.csv", np.array([[1.0, 2.0], [3.0, np.inf]]), first_row=1)
    Traceback (most recent call last):
        ...
    chainrule.data._core.DataError: train.csv: the features hold inf at row 2, column 1; expected finite numbers
    >>> check_finite("train.csv", np.ones((2, 2))) is None
    True
    """
    if x.dtype.kind in "fc" and not np.isfinite(x).all():
        row, *column = np.argwhere(~np.isfinite(x.reshape(len(x), -1)))[0]
        value = x.reshape(len(x), -1)[row, column[0]]
        raise DataError(f"{name}: the {what} hold {value} at row {row + first_row}, column {column[0]}; "
                        f"expected finite numbers")


def _split(name: str, x: np.ndarray, y: np.ndarray, seed: int, test_fraction: float,
           x_test: np.ndarray | None = None, y_test: np.ndarray | None = None) -> DataSplit:
    check_finite(name, x)
    if x_test is not None:
        check_finite(name, x_test, "test features")
    task, classes, y, y_test = _classify(name, y, y_test)
    if x_test is None:
        x, y, x_test, y_test = train_test_split(x, y, test_fraction, seed)
    return DataSplit(name, x.astype(np.float64), y, x_test.astype(np.float64), y_test, task, classes)


# ---- synthetic sets -------------------------------------------------------------------------------------
def synthetic(name: str, n: int = 400, seed: int = 0, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (n, 2) and integer labels ``y`` for ``xor`` (the four corners, label = a XOR b, plus noise),
    ``spirals`` (two interleaved spirals), ``circles`` (a disc inside a ring) or ``blobs`` (three
    Gaussian clusters); for ``line``, ``x`` (n, 1) and a numeric target t = 1.5x − 0.5 + noise (the
    data of a model with two weights, w and b, whose training can be drawn in its weight plane).

    >>> x, y = synthetic("xor", n=200, seed=0)
    >>> x.shape, y.dtype, np.bincount(y)
    ((200, 2), dtype('int64'), array([107,  93]))
    >>> x, t = synthetic("line", n=5, seed=0)
    >>> x.shape, t.shape
    ((5, 1), (5,))
    >>> synthetic("moons")
    Traceback (most recent call last):
        ...
    chainrule.data._core.DataError: unknown synthetic data set 'moons'; expected one of xor, spirals, ...
    """
    rng = np.random.default_rng(seed)
    if name == "line":
        x = rng.uniform(-2.0, 2.0, size=(n, 1))
        return x, 1.5 * x[:, 0] - 0.5 + 5 * noise * rng.normal(size=n)
    if name == "xor":
        bits = rng.integers(0, 2, size=(n, 2))
        return bits + noise * rng.normal(size=(n, 2)), (bits[:, 0] ^ bits[:, 1]).astype(np.int64)
    if name == "spirals":
        y = rng.integers(0, 2, size=n)
        r = rng.uniform(0.1, 1.0, size=n)
        angle = 3.0 * np.pi * r + np.pi * y
        x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
        return x + 0.5 * noise * rng.normal(size=(n, 2)), y.astype(np.int64)
    if name == "circles":
        y = rng.integers(0, 2, size=n)
        r = np.where(y == 0, rng.uniform(0.0, 0.5, size=n), rng.uniform(0.8, 1.2, size=n))
        angle = rng.uniform(0, 2 * np.pi, size=n)
        x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
        return x + 0.5 * noise * rng.normal(size=(n, 2)), y.astype(np.int64)
    if name == "blobs":
        centres = np.array([[0.0, 2.0], [-1.8, -1.0], [1.8, -1.0]])
        y = rng.integers(0, 3, size=n)
        return centres[y] + 5 * noise * rng.normal(size=(n, 2)), y.astype(np.int64)
    raise DataError(f"unknown synthetic data set '{name}'; expected one of {', '.join(SYNTHETIC)}")


# ---- digits and MNIST -----------------------------------------------------------------------------------
def _digits(seed: int, test_fraction: float) -> DataSplit:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("the 'digits' data set needs scikit-learn (pip install scikit-learn, or "
                        "pip install 'chainrule[train]')") from None
    bunch = load_digits()
    split = _split("digits", bunch.data.astype(np.float64), bunch.target, seed, test_fraction)
    split.image_shape = (1, 8, 8)
    return split


_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or raw. The header's dimensions are checked
    (their product without overflow) against ``max_bytes`` and the file before the payload is read; a
    gzip file is decompressed as a stream, never beyond the size its header announces.

    >>> import gzip, os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "tiny-idx2-ubyte.gz")
    >>> header = bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3])  # 00 00, uint8, 2 dimensions: 2 and 3
    >>> with gzip.open(path, "wb") as handle:
    ...     _ = handle.write(header + bytes(range(6)))
    >>> read_idx(path)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    >>> with gzip.open(path, "wb") as handle:
    ...     _ = handle.write(header + bytes(5))
    >>> read_idx(path)
    Traceback (most recent call last):
        ...
    chainrule.data._core.DataError: .../tiny-idx2-ubyte.gz: IDX payload does not have the 6 bytes shape (2, 3) needs
    >>> tmp.cleanup()
    """
    try:
        with open(path, "rb") as raw_handle:
            compressed = raw_handle.read(2) == b"\x1f\x8b"
            raw_handle.seek(0)
            handle = gzip.GzipFile(fileobj=raw_handle) if compressed else raw_handle
            try:
                return _read_idx_stream(path, handle, max_bytes, None if compressed else os.path.getsize(path))
            except (OSError, EOFError, gzip.BadGzipFile) as error:
                raise DataError(f"{path}: not a valid gzip file ({error})") from None
    except FileNotFoundError:
        raise DataError(f"cannot read IDX file {path}: no such file") from None
    except PermissionError as error:
        raise DataError(f"cannot read IDX file {path}: {error.strerror}") from None


def _read_idx_stream(path: str, handle: Any, max_bytes: int, file_size: int | None) -> np.ndarray:
    magic = handle.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (expected the magic bytes 00 00 <type> <ndim>)")
    ndim = magic[3]
    dims = handle.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path}: IDX header is truncated")
    shape = tuple(int.from_bytes(dims[4 * i:4 * i + 4], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[magic[2]])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if expected > max_bytes:
        raise DataError(f"{path}: the IDX header announces shape {shape} ({expected} bytes), over the limit of "
                        f"{max_bytes} bytes")
    if file_size is not None and file_size - 4 - 4 * ndim != expected:
        raise DataError(f"{path}: IDX payload has {file_size - 4 - 4 * ndim} bytes; shape {shape} needs {expected}")
    payload = handle.read(expected)
    if len(payload) != expected or handle.read(1):
        raise DataError(f"{path}: IDX payload does not have the {expected} bytes shape {shape} needs")
    return np.frombuffer(payload, dtype=dtype).reshape(shape)


_MNIST_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
                "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


#: where ``download=True`` fetches the standard files from, and their MD5 checksums (as published)
MIRRORS = {"mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
           "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"}
CHECKSUMS = {
    "mnist": {"train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
              "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
              "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
              "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c"},
    "fashion-mnist": {"train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                      "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
                      "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
                      "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310"},
}
#: environment variables that replace a data set's URL base (a local mirror, say) when ``base_url`` is not given
URL_VARIABLES = {"mnist": "CHAINRULE_MNIST_URL", "fashion-mnist": "CHAINRULE_FASHION_MNIST_URL"}
#: the most bytes one downloaded file may have (the largest standard file, Fashion-MNIST's training images,
#: has 26.4 MB); a server that sends more is cut off
MAX_DOWNLOAD_BYTES = 64 * 1024**2


def _md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)  # the published checksums are MD5: integrity, not security
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _network_reason(error: BaseException) -> str:
    import urllib.error

    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def _fetch(url: str, handle: Any, timeout: float, max_bytes: int) -> tuple[str, int]:
    """Stream ``url`` into the open file ``handle``; its MD5 and length. Refuses a body over ``max_bytes``
    (announced or sent) before writing past it."""
    import urllib.request

    digest, size = hashlib.md5(usedforsecurity=False), 0
    with urllib.request.urlopen(url, timeout=timeout) as response:
        announced = response.headers.get("Content-Length")
        if announced is not None and announced.isdigit() and int(announced) > max_bytes:
            raise _TooLarge(f"the server announces {int(announced)} bytes")
        for block in iter(lambda: response.read(1 << 16), b""):
            size += len(block)
            if size > max_bytes:
                raise _TooLarge("the server sent more")
            digest.update(block)
            handle.write(block)
    return digest.hexdigest(), size


class _TooLarge(Exception):
    pass


def download(name: str, data_dir: str, *, base_url: str | None = None, timeout: float = 60.0,
             max_bytes: int = MAX_DOWNLOAD_BYTES) -> list[str]:
    """Fetch the four ``.gz`` IDX files of ``mnist`` or ``fashion-mnist`` into ``data_dir``; the names of
    the files it fetched.

    A file already there with its published MD5 checksum (`CHECKSUMS`) is not fetched again. Each file is
    streamed into a temporary file beside its target, at most ``max_bytes`` long, and checked against its
    checksum; only then is it renamed into place, so an interrupted or refused download leaves nothing
    behind (and a file already there is replaced only by a verified one). The files come from ``base_url``,
    else from the environment variable of `URL_VARIABLES` (``CHAINRULE_MNIST_URL``,
    ``CHAINRULE_FASHION_MNIST_URL``), else from the standard mirror (`MIRRORS`). Any failure — the network,
    an HTTP error, a wrong checksum, too many bytes — is a `DataError` with one line saying which file and
    why.

    >>> import tempfile
    >>> download("mnist", tempfile.mkdtemp(), base_url="http://127.0.0.1:9/")  # nothing listens there
    Traceback (most recent call last):
    ...
    chainrule.data._core.DataError: mnist: could not download http://127.0.0.1:9/train-images-idx3-ubyte.gz (...)
    """
    import http.client
    import tempfile

    if name not in CHECKSUMS:
        raise DataError(f"download: no standard files for '{name}'; expected one of {', '.join(CHECKSUMS)}")
    base = base_url or os.environ.get(URL_VARIABLES[name]) or MIRRORS[name]
    base = base if base.endswith("/") else base + "/"
    try:
        os.makedirs(data_dir, exist_ok=True)
    except OSError as error:
        raise DataError(f"{name}: cannot create the data folder {data_dir} ({error.strerror})") from None
    fetched = []
    for stem, checksum in CHECKSUMS[name].items():
        target = os.path.join(data_dir, stem + ".gz")
        if os.path.isfile(target) and _md5(target) == checksum:
            continue
        url = base + stem + ".gz"
        try:
            descriptor, partial = tempfile.mkstemp(dir=data_dir, prefix=f".{stem}.gz.", suffix=".part")
        except OSError as error:
            raise DataError(f"{name}: cannot write into the data folder {data_dir} ({error.strerror})") from None
        try:
            with os.fdopen(descriptor, "wb") as handle:
                got, size = _fetch(url, handle, timeout, max_bytes)
            if got != checksum:
                raise DataError(f"{name}: {url} ({size} bytes) has MD5 {got}, not the published {checksum}; "
                                f"refused, nothing kept")
            os.replace(partial, target)
        except _TooLarge as error:
            raise DataError(f"{name}: {url} is over the limit of {max_bytes} bytes ({error}); refused, nothing "
                            f"kept") from None
        except (OSError, http.client.HTTPException) as error:
            raise DataError(f"{name}: could not download {url} ({_network_reason(error)})") from None
        finally:  # also on Ctrl-C: no partial file is left in the cache
            if os.path.exists(partial):
                os.unlink(partial)
        fetched.append(stem + ".gz")
    return fetched


def _mnist(name: str, data_dir: str | None, download_files: bool = False) -> DataSplit:
    if not data_dir:
        raise DataError(f"'{name}' needs --data-dir DIR: a folder holding the four IDX files "
                        f"({', '.join(_MNIST_FILES.values())}, optionally .gz)")
    if download_files:
        download(name, data_dir)
    arrays = {}
    for key, stem in _MNIST_FILES.items():
        candidates = [os.path.join(data_dir, stem + suffix) for suffix in (".gz", "")]
        candidates += [os.path.join(data_dir, stem.replace("-idx", ".idx") + suffix) for suffix in (".gz", "")]
        found = next((c for c in candidates if os.path.isfile(c)), None)
        if found is None:
            raise DataError(f"{name}: missing {stem}(.gz) in {data_dir} (expected the four IDX files "
                            f"{', '.join(_MNIST_FILES.values())})")
        arrays[key] = read_idx(found)
    for part in ("train", "test"):
        if len(arrays[f"x_{part}"]) != len(arrays[f"y_{part}"]):
            raise DataError(f"{name}: {part} images and labels differ in count "
                            f"({len(arrays[f'x_{part}'])} vs {len(arrays[f'y_{part}'])})")
    x_train = arrays["x_train"].reshape(len(arrays["x_train"]), -1).astype(np.float64) / 255.0
    x_test = arrays["x_test"].reshape(len(arrays["x_test"]), -1).astype(np.float64) / 255.0
    height, width = arrays["x_train"].shape[1:3] if arrays["x_train"].ndim == 3 else (1, x_train.shape[1])
    return DataSplit(name, x_train, arrays["y_train"].astype(np.int64), x_test,
                     arrays["y_test"].astype(np.int64), "classification", list(range(10)),
                     image_shape=(1, int(height), int(width)))


# ---- files ----------------------------------------------------------------------------------------------
def _csv(path: str, target: str | None, seed: int, test_fraction: float) -> DataSplit:
    if os.path.getsize(path) > MAX_BYTES:
        raise DataError(f"{path}: the file has {os.path.getsize(path)} bytes, over the limit of {MAX_BYTES}")
    try:
        with open(path, newline="") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except OSError as error:
        raise DataError(f"cannot read CSV file {path}: {error.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: not a readable CSV text file ({error})") from None
    if len(rows) < 3:
        raise DataError(f"{path}: expected a header row and at least two data rows")
    header = [h.strip() for h in rows[0]]
    if len(header) > MAX_CSV_COLUMNS:
        raise DataError(f"{path}: the header has {len(header)} columns, over the limit of {MAX_CSV_COLUMNS} "
                        f"(chainrule.data._datasets.MAX_CSV_COLUMNS)")
    if target is None:
        target = next((h for h in ("target", "label", "class", "y") if h in header), header[-1])
    if target not in header:
        raise DataError(f"{path}: no column named '{target}' (--target); the columns are: {', '.join(header)}")
    column = header.index(target)
    features: list[list[float]] = []
    labels: list[str] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path}, line {line}: {len(row)} fields, but the header has {len(header)}")
        values = []
        for name, text in zip(header, row, strict=True):
            if name == target:
                continue
            try:
                value = float(text)
            except ValueError:
                raise DataError(f"{path}, line {line}: column '{name}' holds {text!r}, expected a number "
                                f"(only the target column may hold text)") from None
            if not math.isfinite(value):
                raise DataError(f"{path}, line {line}: column '{name}' holds {text.strip()!r}; expected a finite "
                                f"number")
            values.append(value)
        features.append(values)
        labels.append(row[column].strip())
    if not features[0]:
        raise DataError(f"{path}: no feature columns besides the target '{target}'")
    try:
        y: np.ndarray = np.array([float(v) for v in labels])
    except ValueError:
        y = np.array(labels)
    return _split(os.path.basename(path), np.array(features), y, seed, test_fraction)


_NPZ_MEMBERS = ("x", "y", "x_test", "y_test")


def _npz_member(path: str, archive: Any, member: str, max_bytes: int) -> np.ndarray:
    """One ``.npy`` member of an NPZ archive, after checking its header: a numeric dtype and a size within
    ``max_bytes`` and within what the archive says it holds (no decompression bombs, no pickles)."""
    info = archive.getinfo(member + ".npy")
    with archive.open(info) as stream:
        try:
            version = np.lib.format.read_magic(stream)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(stream)
        except ValueError as error:
            raise DataError(f"{path}: member '{member}' is not a valid .npy array ({error})") from None
        if dtype.hasobject or dtype.kind not in "biuf" and dtype.kind != "U":
            raise DataError(f"{path}: member '{member}' has dtype {dtype}; expected numbers (or text labels)")
        size = math.prod(shape) * dtype.itemsize
        if size > max_bytes or size > info.file_size:
            raise DataError(f"{path}: member '{member}' claims shape {shape} of {dtype} ({size} bytes), more than "
                            f"{'the limit of ' + str(max_bytes) if size > max_bytes else 'the archive holds'}")
        payload = stream.read(size)
        if len(payload) != size:
            raise DataError(f"{path}: member '{member}' is truncated")
    array = np.frombuffer(payload, dtype=dtype)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def _npz(path: str, seed: int, test_fraction: float, max_bytes: int = MAX_BYTES) -> DataSplit:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = {n[:-4] for n in archive.namelist() if n.endswith(".npy")}
            arrays = {m: _npz_member(path, archive, m, max_bytes) for m in _NPZ_MEMBERS if m in names}
    except (OSError, zipfile.BadZipFile) as error:
        raise DataError(f"cannot read NPZ file {path}: {error}") from None
    if "x" not in arrays or "y" not in arrays:
        raise DataError(f"{path}: expected arrays 'x' and 'y' (and optionally 'x_test', 'y_test'); "
                        f"found: {', '.join(sorted(names)) or 'none'}")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DataError(f"{path}: 'x_test' and 'y_test' must be given together")
    x, y = arrays["x"], arrays["y"]
    if x.ndim < 2 or x.dtype.kind not in "iufb" or len(x) != len(y):
        raise DataError(f"{path}: expected numeric 'x' of shape (n, features) and 'y' with n rows; "
                        f"got x {x.shape} {x.dtype}, y {y.shape}")
    x = x.reshape(len(x), -1)
    x_test = arrays.get("x_test")
    if x_test is not None:
        x_test = x_test.reshape(len(x_test), -1)
        if x_test.shape[1] != x.shape[1] or len(x_test) != len(arrays["y_test"]):
            raise DataError(f"{path}: 'x_test' {x_test.shape} / 'y_test' {arrays['y_test'].shape} do not match "
                            f"'x' {x.shape}")
    return _split(os.path.basename(path), x, y, seed, test_fraction, x_test, arrays.get("y_test"))


def load_dataset(name_or_path: str, *, target: str | None = None, data_dir: str | None = None,
                 seed: int = 0, test_fraction: float = 0.2, standardize: bool = True, dtype: Any = np.float32,
                 download: bool = False) -> DataSplit:
    """Load a named data set or a ``.csv`` / ``.npz`` file as a `DataSplit` (features standardised with
    statistics of the training split unless ``standardize=False``), features in ``dtype`` (float32 by
    default, as the models' parameters). For ``mnist`` / ``fashion-mnist``, ``download=True`` first fetches
    the standard files into ``data_dir`` with `download` (checksums verified; files already there and
    verified are kept; the URL base from ``CHAINRULE_MNIST_URL`` / ``CHAINRULE_FASHION_MNIST_URL`` if set).

    >>> split = load_dataset("xor", seed=0)
    >>> split.task, split.n_features, split.n_outputs
    ('classification', 2, 2)
    """
    key = name_or_path.lower()
    if target is not None and not key.endswith(".csv"):
        raise DataError(f"--target applies to CSV files only; '{name_or_path}' is not one")
    if key == "digits":
        split = _digits(seed, test_fraction)
    elif key in ("mnist", "fashion-mnist", "fashion_mnist"):
        split = _mnist(key.replace("_", "-"), data_dir, download)
    elif key in SYNTHETIC:
        x, y = synthetic(key, seed=seed)
        split = _split(key, x, y, seed, test_fraction)
    elif key.endswith(".csv") or key.endswith(".npz"):
        if not os.path.isfile(name_or_path):
            raise DataError(f"data file not found: {name_or_path}")
        split = (_csv(name_or_path, target, seed, test_fraction) if key.endswith(".csv")
                 else _npz(name_or_path, seed, test_fraction))
    elif os.path.exists(name_or_path):
        raise DataError(f"{name_or_path}: unsupported data file; expected a .csv or .npz file")
    else:
        raise DataError(f"unknown data set '{name_or_path}': expected one of {', '.join(NAMED)}, or a path "
                        f"to a .csv or .npz file")
    return (split.standardize() if standardize else split).astype(dtype)
