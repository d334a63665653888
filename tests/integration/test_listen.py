"""The listening port belongs to one server: strata's I/O threads share it
with SO_REUSEPORT, which must not let a second process join it and take
part of the connections."""
import subprocess

from azure.storage.blob import BlobServiceClient

from strata_server import StrataServer, strata_binary


def test_second_server_on_a_taken_port_is_refused(tmp_path):
    first = StrataServer(root=str(tmp_path / "a")).start()
    (tmp_path / "b").mkdir()  # a missing root would be refused before the port is tried
    try:
        second = subprocess.run(
            [strata_binary(), "serve", "--host", "127.0.0.1", "--port", str(first.port),
             "--root", str(tmp_path / "b")],
            capture_output=True, text=True, timeout=20)
        assert second.returncode != 0
        assert "Address already in use" in second.stderr + second.stdout
        # Every new connection still reaches the first server, whose root
        # alone holds the container.
        BlobServiceClient.from_connection_string(first.connection_string).create_container("only")
        for _ in range(20):
            svc = BlobServiceClient.from_connection_string(first.connection_string)
            assert svc.get_container_client("only").exists()
            svc.close()
    finally:
        first.stop()
