using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Isaac.Core.Wire;

namespace Isaac.Core.Tests.Support;

/// <summary>
/// A scripted hub for agent tests: a loopback TCP listener that does the WebSocket handshake itself (or refuses
/// with a status), so a test decides exactly what the hub says and when, without the real hub.
/// </summary>
internal sealed class ScriptedHub : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<ScriptedConnection> _connections = Channel.CreateUnbounded<ScriptedConnection>();
    private readonly ConcurrentQueue<ScriptedConnection> _all = new();
    private readonly Task _accepting;
    private int _refusals;

    public ScriptedHub()
    {
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    public Uri Address { get; }

    /// <summary>When set, upgrade requests are answered with this status (e.g. 409) instead of a WebSocket.</summary>
    public HttpStatusCode? RefuseWith { get; set; }

    /// <summary>Whether pings are answered with pongs. The default is true.</summary>
    public bool AnswerPings { get; set; } = true;

    /// <summary>Whether completed, failed and in_doubt reports are acknowledged. The default is true.</summary>
    public bool AckResults { get; set; } = true;

    /// <summary>Upgrade requests refused so far.</summary>
    public int Refusals => Volatile.Read(ref _refusals);

    /// <summary>Every WebSocket connection accepted so far.</summary>
    public IReadOnlyList<ScriptedConnection> Connections => [.. _all];

    /// <summary>Waits for the next accepted connection.</summary>
    public async Task<ScriptedConnection> NextConnectionAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        return await _connections.Reader.ReadAsync(cts.Token);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            _ = Task.Run(() => HandshakeAsync(client));
        }
    }

    private async Task HandshakeAsync(TcpClient client)
    {
        try
        {
            var stream = client.GetStream();
            var request = await ReadHeadersAsync(stream);
            if (RefuseWith is { } status)
            {
                Interlocked.Increment(ref _refusals);
                var body = $$"""{"title":"refused by the scripted hub","status":{{(int)status}}}""";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 {(int)status} {status}\r\nContent-Type: application/problem+json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
                client.Dispose();
                return;
            }

            var key = request.Split("\r\n").Select(line => line.Split(':', 2)).First(parts => parts[0].Equals("Sec-WebSocket-Key", StringComparison.OrdinalIgnoreCase))[1].Trim();
            var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"));
            var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
            var connection = new ScriptedConnection(this, client, socket, request);
            _all.Enqueue(connection);
            _connections.Writer.TryWrite(connection);
        }
        catch (Exception)
        {
            client.Dispose();
        }
    }

    private static async Task<string> ReadHeadersAsync(NetworkStream stream)
    {
        // Byte by byte, so nothing after the headers (the first WebSocket frame) is swallowed.
        var bytes = new List<byte>();
        var one = new byte[1];
        while (bytes.Count < 4 || !(bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0)
            {
                throw new IOException("closed during the handshake");
            }

            bytes.Add(one[0]);
        }

        return Encoding.ASCII.GetString([.. bytes]);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        foreach (var connection in _all)
        {
            connection.Drop();
        }

        _stop.Dispose();
    }

    /// <summary>One agent connection as the scripted hub sees it.</summary>
    internal sealed class ScriptedConnection
    {
        private readonly ScriptedHub _hub;
        private readonly TcpClient _client;
        private readonly AgentChannel _channel;
        private readonly ConcurrentQueue<AgentMessage> _received = new();
        private readonly SemaphoreSlim _arrived = new(0);
        private readonly SemaphoreSlim _sending = new(1, 1);
        private readonly WebSocket _socket;

        public ScriptedConnection(ScriptedHub hub, TcpClient client, WebSocket socket, string request)
        {
            _hub = hub;
            _client = client;
            _socket = socket;
            _channel = new AgentChannel(socket);
            Request = request;
            Closed = ReceiveAsync();
        }

        /// <summary>The HTTP upgrade request as received.</summary>
        public string Request { get; }

        /// <summary>Completes when the agent's side of the connection ends.</summary>
        public Task Closed { get; }

        public IReadOnlyList<AgentMessage> Received => [.. _received];

        public Task SendAsync(AgentMessage message) => SendLockedAsync(message);

        /// <summary>Sends raw text as one WebSocket message (for malformed input).</summary>
        public async Task SendRawAsync(string text)
        {
            // The channel serializes its own sends; a raw send must not interleave with an automatic pong.
            await _sending.WaitAsync();
            try
            {
                await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
            }
            finally
            {
                _sending.Release();
            }
        }

        public Task AssignAsync(string id, long seq, bool parallel = false, string? text = null, string sender = "desktop") =>
            SendAsync(new AgentMessage { Type = "assign", Id = id, Text = text ?? id, Sender = sender, Seq = seq, Parallel = parallel });

        /// <summary>Waits for a message from the agent that matches, already received or still to come.</summary>
        public async Task<AgentMessage> WaitForAsync(Func<AgentMessage, bool> match, TimeSpan? timeout = null)
        {
            var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
            while (true)
            {
                if (_received.FirstOrDefault(match) is { } found)
                {
                    return found;
                }

                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    Assert.Fail($"no matching message; received: {string.Join(", ", _received.Select(m => $"{m.Type} {m.Id}"))}");
                }

                await _arrived.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
            }
        }

        public Task<AgentMessage> WaitForAsync(string type, string id, TimeSpan? timeout = null) =>
            WaitForAsync(m => m.Type == type && m.Id == id, timeout);

        /// <summary>Ends the connection abruptly, as a crashed hub would.</summary>
        public void Drop()
        {
            _channel.Abort();
            _client.Dispose();
        }

        private async Task SendLockedAsync(AgentMessage message)
        {
            await _sending.WaitAsync();
            try
            {
                await _channel.SendAsync(message, CancellationToken.None);
            }
            finally
            {
                _sending.Release();
            }
        }

        private async Task ReceiveAsync()
        {
            await Task.Yield();
            try
            {
                while (await _channel.ReceiveAsync(CancellationToken.None) is { } message)
                {
                    _received.Enqueue(message);
                    _arrived.Release();
                    if (message.Type == "ping" && _hub.AnswerPings)
                    {
                        await SendLockedAsync(new AgentMessage { Type = "pong" });
                    }
                    else if (message is { Type: "completed" or "failed" or "in_doubt", Id: { } id } && _hub.AckResults)
                    {
                        await SendLockedAsync(new AgentMessage { Type = "ack", Id = id });
                    }
                }
            }
            catch (Exception)
            {
                // The agent went away; the test looks at what arrived.
            }
            finally
            {
                _arrived.Release();
            }
        }
    }
}
