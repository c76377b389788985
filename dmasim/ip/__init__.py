"""Models of the IPs in a design for the ``model`` target.

The base class for your own stream IP, the HLS control protocol, a register-table helper, and
the stream infrastructure dmasim provides itself.
"""

from .base import StreamIP, word_dtype
from .builtin import buffering
from .hls import HlsControl
from .registers import Register, RegisterTable

__all__ = ["HlsControl", "Register", "RegisterTable", "StreamIP", "buffering", "word_dtype"]
