"""Streams: the plaintext bytes of each connection, tapped as blocks, dumped as socat does,
recorded to files and replayed by mock servers.

    block.py         Block: one read of one direction
    wire.py          HTTP/1 messages as the bytes on the wire
    taps.py          BlockTap: turns mitmproxy's TCP/HTTP events into blocks
    socat_format.py  socat -v / -x / -v -x text of a block (pure)
    socat_dump.py    the socat_dump addon
    recording.py     the recording file format (read, write)
    recorder.py      the record_dir addon
    mock.py          answer a connection from a recording (mock server)
    tcp_bound.py     the tcp_messages_max addon
"""
