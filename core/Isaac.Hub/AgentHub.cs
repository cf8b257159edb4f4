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

    /// <summary>Sends new commands to their device if it is connected and has room; otherwise they wait.</summary>
    public async Task OfferAsync(string target, CancellationToken cancellationToken)
    {
        if (_sessions.TryGetValue(target, out var session))
        {
            await PumpAsync(session, cancellationToken).ConfigureAwait(false);
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
        var session = new AgentSession(device, socket, options.MaxAgentMessageBytes);
        if (_sessions.TryGetValue(device, out var previous))
        {
            previous.Abort();
        }

        _sessions[device] = session;
        store.Touch(device);
        logger.LogInformation("Device {Device} connected", device);
        try
        {
            while (await session.ReceiveAsync(cancellationToken).ConfigureAwait(false) is { } message)
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

    /// <summary>
    /// Assigns the device's oldest waiting commands, in order, while it has room: never more in flight than
    /// the capacity it announced, so a device coming back to a backlog is not flooded into rejecting it.
    /// Commands assigned on an earlier connection but never accepted are sent again.
    /// </summary>
    private async Task PumpAsync(AgentSession session, CancellationToken cancellationToken)
    {
        if (!session.Greeted)
        {
            return; // nothing is sent before the agent's hello says what it can take and what it holds
        }

        await session.Pumping.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var inFlight = store.InFlight(session.Device, session.Sent);
            foreach (var record in store.Undelivered(session.Device).Where(r => !session.Sent.Contains(r.Id)).Take(Math.Max(0, session.Capacity - inFlight)))
            {
                store.Advance(record.Id, record.Target, RoutedStatus.Assigned);
                session.Sent.Add(record.Id);
                Changed(record.Id);
                await session.SendAsync(new AgentMessage { Type = "assign", Id = record.Id, Text = record.Text, Sender = record.Sender }, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            session.Pumping.Release();
        }
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
                session.Capacity = Math.Clamp(message.Capacity ?? 1, 1, 1024);
                session.Greeted = true;

                // Our record may have missed the agent's answers (a hub that died mid-conversation): what it says it
                // holds is running, and counts against its capacity, so it is never sent more than it can take.
                foreach (var held in message.Holding ?? [])
                {
                    if (store.Advance(held, device, RoutedStatus.Running))
                    {
                        Changed(held);
                    }
                }

                logger.LogInformation("Device {Device} says hello (capacity {Capacity})", device, session.Capacity);
                await PumpAsync(session, cancellationToken).ConfigureAwait(false);
                return;
            case { Id: null }:
                logger.LogWarning("Device {Device} sent '{Type}' without an id", device, message.Type);
                return;
        }

        var id = message.Id;
        if (message is { Type: "rejected", Reason: { } reason } && reason.StartsWith("busy", StringComparison.Ordinal))
        {
            // The device is full: the command waits at the hub and goes out again when a slot frees (after a
            // completion), instead of being lost to a moment of contention.
            session.Sent.Remove(id);
            store.Advance(id, device, RoutedStatus.Accepted);
            logger.LogInformation("Device {Device} was busy; #{Id} waits for a free slot", device, id);
            return;
        }

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

        if (message.Type is "completed" or "failed" or "rejected")
        {
            await PumpAsync(session, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Changed(string id)
    {
        if (_changes.TryRemove(id, out var signal))
        {
            signal.TrySetResult();
        }
    }

    private sealed class AgentSession(string device, WebSocket socket, int maxMessageBytes)
    {
        private readonly AgentChannel _channel = new(socket, maxMessageBytes);

        public string Device => device;

        /// <summary>How many commands the device runs at once (from its hello); 1 until it says.</summary>
        public int Capacity { get; set; } = 1;

        /// <summary>Whether the agent's hello has arrived.</summary>
        public bool Greeted { get; set; }

        /// <summary>Commands assigned on this connection.</summary>
        public HashSet<string> Sent { get; } = new(StringComparer.Ordinal);

        public SemaphoreSlim Pumping { get; } = new(1, 1);

        public Task SendAsync(AgentMessage message, CancellationToken cancellationToken) => _channel.SendAsync(message, cancellationToken);

        public Task<AgentMessage?> ReceiveAsync(CancellationToken cancellationToken) => _channel.ReceiveAsync(cancellationToken);

        public void Abort() => _channel.Abort();
    }
}
