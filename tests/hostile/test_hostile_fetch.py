"""``gnnbench validate --fetch`` against hostile URLs: http, loopback and private addresses, endless
downloads and redirects out of policy. The command line's policy (https to public addresses, at most
2 GiB) is tested as it is, without a network: every refusal here happens before a connection. The
download path itself is tested against a local server under a looser policy passed as an argument."""

from __future__ import annotations

import http.server
import threading

import pytest
from click.testing import CliRunner
from hostile_corpus import MESSAGE_LIMIT, copy_valid, edit_metadata, tree

from gnnbench.cli import main
from gnnbench.leaderboard import validate as validate_module
from gnnbench.leaderboard.validate import FETCH_MAX_BYTES, FetchPolicy, validate_submission_dir

LOCAL = FetchPolicy(schemes=("http",), allow_private_hosts=True)
BODY = b"x" * 5000


class Handler(http.server.BaseHTTPRequestHandler):
    """/sized: 5000 bytes with a Content-Length; /endless: the same without one; /redirect-*: 302s."""

    def do_GET(self):  # noqa: N802 - the name http.server calls
        if self.path.startswith("/redirect-"):
            self.send_response(302)
            self.send_header("Location", {"/redirect-ftp": "ftp://example.org/x.pt", "/redirect-loop": "/redirect-loop"}[self.path])
            self.end_headers()
            return
        self.send_response(200)
        if self.path == "/sized":
            self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.protocol_version = "HTTP/1.0"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)  # shutdown() waits a poll
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def model_from_url(tmp_path, url):
    folder = copy_valid(tmp_path / "submissions", name="gns-mini-seed0")
    (folder / "submission.pt").unlink()
    edit_metadata(folder, lambda m: m.update(submission_url=url))
    return folder


def fetch_problems(folder, policy=None) -> str:
    before = tree(folder.parent.parent)
    report = validate_submission_dir(folder, fetch=True, fetch_policy=policy)
    assert not report.ok and not (folder / "submission.pt").exists()
    assert tree(folder.parent.parent) == before  # nothing kept, no partial file, nothing written elsewhere
    assert all(len(problem) < MESSAGE_LIMIT for problem in report.problems)
    return " ".join(report.problems)


def test_the_default_policy_is_https_to_public_hosts_under_2_gib():
    assert FetchPolicy() == FetchPolicy(schemes=("https",), allow_private_hosts=False, max_bytes=FETCH_MAX_BYTES)
    assert FETCH_MAX_BYTES == 2 * 2**30


@pytest.mark.parametrize("url, message", [
    ("http://example.org/model.pt", "metadata.yaml: submission_url must be an https URL, not http://example.org/model.pt"),
    ("ftp://example.org/model.pt", "metadata.yaml: does not follow the metadata schema: submission_url: 'ftp://example.org/model.pt' "
                                   "does not match '^https?://'"),
    ("file:///etc/passwd", "does not follow the metadata schema: submission_url: 'file:///etc/passwd'"),
])
def test_only_https_is_accepted_as_a_submission_url(tmp_path, url, message):
    assert message in fetch_problems(model_from_url(tmp_path, url))


@pytest.mark.parametrize("url", ["http://example.org/model.pt", "ftp://example.org/model.pt", "file:///etc/passwd"])
def test_only_https_is_fetched_even_if_a_url_got_past_the_schema(tmp_path, url):
    folder = model_from_url(tmp_path, "https://example.org/model.pt")
    report = validate_submission_dir(folder)  # no fetch: valid, with a note
    assert report.ok
    validate_module._fetch(url, folder / "submission.pt", "0" * 64, report, FetchPolicy())
    assert "download refused (only https URLs are fetched" in " ".join(report.problems)
    assert sorted(p.name for p in folder.iterdir()) == ["fresh_seed.json", "log.csv", "loss_curve.png", "metadata.yaml", "plots", "scores.json"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254",
                                  "0.0.0.0", "[::ffff:127.0.0.1]", "100.64.0.1", "[fe80::1]", "224.0.0.1"])
def test_loopback_private_and_reserved_hosts_are_refused(tmp_path, host):
    text = fetch_problems(model_from_url(tmp_path, f"https://{host}:8443/model.pt"))
    assert "download refused" in text and "a loopback, private, link-local or reserved address" in text


def test_the_command_line_refuses_a_loopback_url(tmp_path, server):
    folder = model_from_url(tmp_path, server.replace("http://", "https://") + "/sized")
    result = CliRunner().invoke(main, ["validate", "--fetch", str(folder)])
    assert result.exit_code == 1 and "resolves to 127.0.0.1, a loopback" in result.output
    assert not (folder / "submission.pt").exists()


def test_a_download_announcing_too_many_bytes_is_refused_before_reading(tmp_path, server):
    text = fetch_problems(model_from_url(tmp_path, f"{server}/sized"), FetchPolicy(("http",), True, max_bytes=1000))
    assert "the server announces 5000 bytes, over the 1000 bytes" in text


def test_an_endless_download_stops_at_the_cap(tmp_path, server):
    text = fetch_problems(model_from_url(tmp_path, f"{server}/endless"), FetchPolicy(("http",), True, max_bytes=1000))
    assert "stopped after 1000 bytes" in text


def test_a_download_with_the_wrong_sha256_is_not_kept(tmp_path, server):
    text = fetch_problems(model_from_url(tmp_path, f"{server}/sized"), LOCAL)
    assert "downloaded file has sha256" in text and "not kept" in text


@pytest.mark.parametrize("path, message", [("/redirect-ftp", "only http URLs are fetched, not ftp"),
                                           ("/redirect-loop", "more than 5 redirects")])
def test_redirects_are_checked_like_the_first_url(tmp_path, server, path, message):
    assert message in fetch_problems(model_from_url(tmp_path, server + path), LOCAL)
