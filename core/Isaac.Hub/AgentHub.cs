using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using Isaac.Core.Hub;
using Microsoft.Extensions.Logging;

namespace Isaac.Hub;

/// <summary>Connected device agents: hands them their commands and records what they report.</summary>
internal sealed class AgentHub(HubStore store, HubOptions options, ILogger<AgentHub> logger)
{
    private readonly ConcurrentDictionary<string, AgentSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _changes = new(StringComparer.Ordinal);

    public bool IsOnline(string device) => _sessions.ContainsKey(device);

    /// <summary>Sends a new command to its device if connected; otherwise it waits for the device.</summary>
    public async Task OfferAsync(CommandRecord record, CancellationToken cancellationToken)
    {
        if (_sessions.TryGetValue(record.Target, out var session))
        {
            await AssignAsync(session, record, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until the command changes state or <paramref name="timeout"/> passes.</summary>
    public async Task WaitForChangeAsync(string id, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var signal = _changes.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        await Task.WhenAny(signal.Task, Task.Delay(timeout, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Serves one agent's WebSocket until it closes. A newer connection from the same device replaces an older one.</summary>
    public async Task RunSessionAsync(string device, WebSocket socket, CancellationToken cancellationToken)
    {
        var session = new AgentSession(device, socket);
        if (_sessions.TryGetValue(device, out var previous))
        {
            previous.Abort();
        }

        _sessions[device] = session;
        store.Touch(device);
        logger.LogInformation("Device {Device} connected", device);
        try
        {
            foreach (var record in store.Undelivered(device))
            {
                await AssignAsync(session, record, cancellationToken).ConfigureAwait(false);
            }

            while (await session.ReceiveAsync(options.MaxAgentMessageBytes, cancellationToken).ConfigureAwait(false) is { } message)
            {
                await HandleAsync(session, message, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or JsonException)
        {
            logger.LogInformation("Device {Device} connection ended: {Reason}", device, ex.Message);
        }
        finally
        {
            _sessions.TryRemove(KeyValuePair.Create(device, session));
            store.Touch(device);
            logger.LogInformation("Device {Device} disconnected", device);
        }
    }

    private async Task AssignAsync(AgentSession session, CommandRecord record, CancellationToken cancellationToken)
    {
        store.Advance(record.Id, record.Target, RoutedStatus.Assigned);
        Changed(record.Id);
        await session.SendAsync(new AgentMessage { Type = "assign", Id = record.Id, Text = record.Text, Sender = record.Sender }, cancellationToken).ConfigureAwait(false);
    }

    private async Task HandleAsync(AgentSession session, AgentMessage message, CancellationToken cancellationToken)
    {
        var device = session.Device;
        switch (message)
        {
            case { Type: "ping" }:
                await session.SendAsync(new AgentMessage { Type = "pong" }, cancellationToken).ConfigureAwait(false);
                return;
            case { Type: "hello" }:
                logger.LogInformation("Device {Device} says hello (capacity {Capacity})", device, message.Capacity);
                return;
            case { Id: null }:
                logger.LogWarning("Device {Device} sent '{Type}' without an id", device, message.Type);
                return;
        }

        var id = message.Id;
        var changed = message.Type switch
        {
            "accepted" => store.Advance(id, device, RoutedStatus.DeviceAccepted),
            "running" => store.Advance(id, device, RoutedStatus.Running),
            "rejected" => store.Advance(id, device, RoutedStatus.Rejected, error: message.Reason ?? "rejected by the device"),
            "completed" => store.Advance(id, device, RoutedStatus.Completed, message.Result),
            "failed" => store.Advance(id, device, RoutedStatus.Failed, message.Result, message.Reason),
            _ => false,
        };
        if (changed)
        {
            Changed(id);
        }

        // Results are acknowledged even when repeated, so the agent can forget them.
        if (message.Type is "completed" or "failed")
        {
            await session.SendAsync(new AgentMessage { Type = "ack", Id = id }, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Changed(string id)
    {
        if (_changes.TryRemove(id, out var signal))
        {
            signal.TrySetResult();
        }
    }

    private sealed class AgentSession(string device, WebSocket socket)
    {
        private readonly SemaphoreSlim _sending = new(1, 1);

        public string Device => device;

        public async Task SendAsync(AgentMessage message, CancellationToken cancellationToken)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(message, HubJson.Default.AgentMessage);
            await _sending.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _sending.Release();
            }
        }

        /// <summary>The next message, or null when the agent closed the connection.</summary>
        public async Task<AgentMessage?> ReceiveAsync(int maxBytes, CancellationToken cancellationToken)
        {
            var buffer = new ArrayBufferWriter<byte>();
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.GetMemory(16 * 1024), cancellationToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken).ConfigureAwait(false);
                    return null;
                }

                buffer.Advance(result.Count);
                if (buffer.WrittenCount > maxBytes)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.MessageTooBig, $"messages are limited to {maxBytes} bytes", cancellationToken).ConfigureAwait(false);
                    return null;
                }

                if (result.EndOfMessage)
                {
                    return JsonSerializer.Deserialize(buffer.WrittenSpan, HubJson.Default.AgentMessage);
                }
            }
        }

        public void Abort() => socket.Abort();
    }
}
