"""`chainrule.data.download` (and ``load_dataset(..., download=True)``) for real, against an HTTP server on
127.0.0.1 that this test starts, serving small gzipped IDX files it writes; their checksums stand in for
the published ones (which stay pinned in `CHECKSUMS`)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import socket
import struct
import threading

import numpy as np
import pytest

from chainrule.data import DataError, _datasets, download, load_dataset

STEMS = list(_datasets._MNIST_FILES.values())


def _idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (path -> bytes), logs each request path in ``server.requests``; with
    ``server.no_length`` it sends no Content-Length (the body ends when the connection closes), so only the
    bytes counted while streaming can bound it."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.server.requests.append(self.path)
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404, "File not found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        if not self.server.no_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, size=20).astype(np.uint8)
    arrays = {"train-images-idx3-ubyte": images[:15], "train-labels-idx1-ubyte": labels[:15],
              "t10k-images-idx3-ubyte": images[15:], "t10k-labels-idx1-ubyte": labels[15:]}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files = {f"/mnist/{stem}.gz": gzip.compress(_idx(a), mtime=0) for stem, a in arrays.items()}
    httpd.requests, httpd.no_length, httpd.arrays = [], False, arrays
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/mnist/"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def checksums(server, monkeypatch):
    """The served files' MD5s in place of the published ones, for this test only."""
    table = {stem: hashlib.md5(server.files[f"/mnist/{stem}.gz"]).hexdigest() for stem in STEMS}
    monkeypatch.setitem(_datasets.CHECKSUMS, "mnist", table)
    return table


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_download_fetches_verifies_and_load_dataset_reads_them(server, checksums, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    assert download("mnist", str(cache), base_url=server.url) == [stem + ".gz" for stem in STEMS]
    assert sorted(os.listdir(cache)) == sorted(stem + ".gz" for stem in STEMS)  # nothing else (no partial files)
    assert len(server.requests) == 4
    # load_dataset(download=True) with the URL base from the environment: all verified, nothing fetched again
    monkeypatch.setenv("CHAINRULE_MNIST_URL", server.url)
    split = load_dataset("mnist", data_dir=str(cache), download=True, standardize=False)
    assert len(server.requests) == 4
    np.testing.assert_allclose(split.x_train, server.arrays["train-images-idx3-ubyte"].reshape(15, -1) / 255.0,
                               rtol=1e-6)
    np.testing.assert_array_equal(split.y_test, server.arrays["t10k-labels-idx1-ubyte"])


def test_load_dataset_download_uses_the_environment_variable(server, checksums, tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_MNIST_URL", server.url.rstrip("/"))  # with or without the final slash
    split = load_dataset("mnist", data_dir=str(tmp_path), download=True)
    assert split.x_train.shape == (15, 784) and len(server.requests) == 4


def test_a_file_that_fails_its_checksum_is_refused_and_not_kept(server, checksums, tmp_path):
    server.files["/mnist/t10k-images-idx3-ubyte.gz"] = b"\x1f\x8b" + b"not what was published" * 10
    with pytest.raises(DataError) as error:
        download("mnist", str(tmp_path), base_url=server.url)
    message = _one_line(error)
    assert message.startswith(f"mnist: {server.url}t10k-images-idx3-ubyte.gz (222 bytes) has MD5 ")
    assert message.endswith(f"not the published {checksums['t10k-images-idx3-ubyte']}; refused, nothing kept")
    # the two files before it were verified and kept; nothing of the refused one (nor a temporary file) is left
    assert sorted(os.listdir(tmp_path)) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_a_corrupted_file_in_the_cache_is_fetched_again_and_a_verified_one_is_not(server, checksums, tmp_path):
    download("mnist", str(tmp_path), base_url=server.url)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"damaged")
    server.requests.clear()
    assert download("mnist", str(tmp_path), base_url=server.url) == ["train-labels-idx1-ubyte.gz"]
    assert server.requests == ["/mnist/train-labels-idx1-ubyte.gz"]
    assert (tmp_path / "train-labels-idx1-ubyte.gz").read_bytes() == server.files["/mnist/train-labels-idx1-ubyte.gz"]


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "streamed"])
def test_a_file_over_the_size_limit_is_cut_off(server, checksums, tmp_path, announced):
    server.no_length = not announced
    server.files["/mnist/train-images-idx3-ubyte.gz"] = os.urandom(300_000)
    with pytest.raises(DataError) as error:
        download("mnist", str(tmp_path), base_url=server.url, max_bytes=100_000)
    why = "the server announces 300000 bytes" if announced else "the server sent more"
    assert _one_line(error) == (f"mnist: {server.url}train-images-idx3-ubyte.gz is over the limit of 100000 bytes "
                                f"({why}); refused, nothing kept")
    assert os.listdir(tmp_path) == []


def test_the_bounded_stream_still_reads_a_file_without_content_length(server, checksums, tmp_path):
    server.no_length = True
    assert len(download("mnist", str(tmp_path), base_url=server.url)) == 4


def test_network_failures_are_one_line(server, checksums, tmp_path):
    del server.files["/mnist/train-labels-idx1-ubyte.gz"]
    with pytest.raises(DataError) as error:
        download("mnist", str(tmp_path), base_url=server.url)
    assert _one_line(error) == (f"mnist: could not download {server.url}train-labels-idx1-ubyte.gz "
                                f"(HTTP 404 File not found)")
    assert os.listdir(tmp_path) == ["train-images-idx3-ubyte.gz"]
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DataError) as error:
        download("mnist", str(tmp_path / "other"), base_url=f"http://127.0.0.1:{port}/")
    message = _one_line(error)
    assert message.startswith(f"mnist: could not download http://127.0.0.1:{port}/train-images-idx3-ubyte.gz (")
    assert "refused" in message.lower()
    assert os.listdir(tmp_path / "other") == []


def test_download_refuses_an_unknown_data_set(tmp_path):
    with pytest.raises(DataError, match="download: no standard files for 'cifar10'; expected one of mnist, "
                                        "fashion-mnist"):
        download("cifar10", str(tmp_path))


def test_the_published_checksums_stay_in_the_table():
    assert _datasets.CHECKSUMS["mnist"] == {
        "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c"}
    assert set(_datasets.CHECKSUMS["fashion-mnist"]) == set(STEMS)
    assert _datasets.MIRRORS["mnist"].startswith("https://")
