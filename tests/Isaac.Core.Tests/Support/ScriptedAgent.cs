using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Isaac.Core.Wire;

namespace Isaac.Core.Tests.Support;

/// <summary>
/// A device agent played by the test over a real <see cref="ClientWebSocket"/>: it says exactly what the test
/// tells it to (including malformed things), so the hub is tested on its own, without the real agent.
/// Everything the hub sends lands in <see cref="Next"/> order; a close is recorded in <see cref="CloseStatus"/>.
/// </summary>
internal sealed class ScriptedAgent : IAsyncDisposable
{
    private static readonly TimeSpan _defaultWait = TimeSpan.FromSeconds(10);

    private readonly ClientWebSocket _socket;
    private readonly Channel<AgentMessage> _inbox = Channel.CreateUnbounded<AgentMessage>();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly Task _loop;

    private ScriptedAgent(ClientWebSocket socket)
    {
        _socket = socket;
        _loop = ReceiveLoopAsync();
    }

    public WebSocketCloseStatus? CloseStatus { get; private set; }

    public string? CloseDescription { get; private set; }

    /// <summary>Completes when the hub closed or dropped the connection.</summary>
    public Task Ended => _loop;

    public static async Task<ScriptedAgent> ConnectAsync(string address, string token)
    {
        var socket = NewSocket(token);
        using var timeout = new CancellationTokenSource(_defaultWait);
        await socket.ConnectAsync(AgentUri(address), timeout.Token);
        return new ScriptedAgent(socket);
    }

    /// <summary>Tries to connect and returns the HTTP status the hub answered (101 when it accepted, then hangs up).</summary>
    public static async Task<HttpStatusCode> TryConnectAsync(string address, string token)
    {
        using var socket = NewSocket(token);
        using var timeout = new CancellationTokenSource(_defaultWait);
        try
        {
            await socket.ConnectAsync(AgentUri(address), timeout.Token);
            socket.Abort();
            return HttpStatusCode.SwitchingProtocols;
        }
        catch (WebSocketException)
        {
            return socket.HttpStatusCode;
        }
    }

    public Task HelloAsync(int? window = null, int? capacity = null, int? heartbeatMs = null, params string[] holding) =>
        SendAsync(new AgentMessage { Type = "hello", Window = window, Capacity = capacity, HeartbeatMs = heartbeatMs, Holding = holding });

    public Task SendAsync(AgentMessage message) => SendRawAsync(JsonSerializer.Serialize(message, HubJson.Default.AgentMessage));

    public Task SendAsync(string type, string id, string? reason = null) => SendAsync(new AgentMessage { Type = type, Id = id, Reason = reason });

    public async Task SendRawAsync(string text)
    {
        await _sending.WaitAsync();
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>The next message from the hub; fails the test if none comes in time or the connection ended.</summary>
    public async Task<AgentMessage> Next(TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? _defaultWait);
        try
        {
            return await _inbox.Reader.ReadAsync(timeout.Token);
        }
        catch (ChannelClosedException)
        {
            Assert.Fail($"the hub ended the connection ({CloseStatus}: {CloseDescription})");
            throw;
        }
    }

    /// <summary>
    /// Everything the hub sent up to now: pings, then collects messages until the pong. The hub answers on one
    /// ordered socket, and it sends assignments before the HTTP call that caused them returns, so this is a
    /// barrier, not a guess about timing. Also serves as the agent's heartbeat.
    /// </summary>
    public async Task<IReadOnlyList<AgentMessage>> DrainAsync()
    {
        await SendAsync(new AgentMessage { Type = "ping" });
        var messages = new List<AgentMessage>();
        while (await Next() is var message && message.Type != "pong")
        {
            messages.Add(message);
        }

        return messages;
    }

    /// <summary>Waits until the hub has closed or dropped the connection.</summary>
    public async Task WaitEndedAsync(TimeSpan? within = null) => await _loop.WaitAsync(within ?? _defaultWait);

    public async ValueTask DisposeAsync()
    {
        _socket.Abort();
        await _loop;
        _socket.Dispose();
        _sending.Dispose();
    }

    private static ClientWebSocket NewSocket(string token)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // silence means silence in the heartbeat tests
        return socket;
    }

    private static Uri AgentUri(string address) => new(address.Replace("http://", "ws://", StringComparison.Ordinal) + "/v1/agent");

    private async Task ReceiveLoopAsync()
    {
        await Task.Yield();
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    CloseStatus = result.CloseStatus;
                    CloseDescription = result.CloseStatusDescription;
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    var parsed = JsonSerializer.Deserialize(message.ToArray(), HubJson.Default.AgentMessage);
                    message.SetLength(0);
                    if (parsed is not null)
                    {
                        _inbox.Writer.TryWrite(parsed);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // dropped: the hub aborted the connection (a missed heartbeat) or the test disposed us
        }
        finally
        {
            _inbox.Writer.TryComplete();
        }
    }
}
