"""The lab VM (or this host) really has kernel SCTP."""
import socket
import pytest

pytestmark = pytest.mark.kernel


def test_kernel_has_sctp():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
    s.close()
