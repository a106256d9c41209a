"""A TCP proxy that can go dark: the outage tests put it between fieldtrail and PostgreSQL.

    python3 tcp_proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT

SIGUSR1 cuts: every proxied connection is closed and new ones are refused (the listener is
closed), which is what fieldtrail sees when PostgreSQL stops. SIGUSR2 restores the listener.
Prints "ready" once listening. Only the standard library; only 127.0.0.1.
"""

import asyncio
import signal
import sys


async def main() -> None:
    listen_port, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    writers: set[asyncio.StreamWriter] = set()
    server: asyncio.base_events.Server | None = None

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(host, port)
        except OSError:
            client_w.close()
            return
        writers.update((client_w, server_w))
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))
        writers.difference_update((client_w, server_w))

    async def listen() -> None:
        nonlocal server
        server = await asyncio.start_server(handle, "127.0.0.1", listen_port, reuse_address=True)

    def cut() -> None:
        nonlocal server
        if server is not None:
            server.close()
            server = None
        for writer in list(writers):
            transport = writer.transport
            if transport is not None:
                transport.abort()
        writers.clear()
        print("cut", flush=True)

    def restore() -> None:
        asyncio.ensure_future(listen())
        print("restored", flush=True)

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, cut)
    loop.add_signal_handler(signal.SIGUSR2, restore)
    await listen()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
